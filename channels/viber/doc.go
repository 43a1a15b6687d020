// Package viber is the hub's Viber channel: it sends text messages through
// the Viber REST bot API (/pa/send_message), classifies the API's status
// codes as *hub.SendError, names the per-bot rate limit the router must
// enforce, verifies and decodes callbacks (X-Viber-Content-Signature) into
// hub.Inbound events, registers the webhook and builds viber://pa deep links.
//
// Package viberfake is a scriptable fake of the REST bot API for tests.
package viber
