// Package sendbudget is the rate limiter the channel senders share across
// every worker process: GCRA reservations in Redis per provider budget (a
// bot, a phone number, a chat) and the pauses a provider asked for
// (Telegram's retry_after, WhatsApp's throughput errors). The API's request
// limits are package ratelimit's.
package sendbudget
