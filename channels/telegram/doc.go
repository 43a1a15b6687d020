// Package telegram is the hub's Telegram channel: it sends text messages
// through the Telegram Bot API (sendMessage, built on
// github.com/go-telegram-bot-api/telegram-bot-api/v5), classifies the Bot
// API's refusals as *hub.SendError, names the rate limits the router must
// enforce per bot and per chat, decodes webhook calls (Update objects) into
// hub.Inbound events after checking the secret token, long-polls getUpdates
// for development setups without a public webhook URL, registers the webhook
// and builds t.me deep links.
//
// Package telegramfake is a scriptable fake of the Bot API for tests.
package telegram
