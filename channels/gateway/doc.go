// Package gateway owns the hub's side of the messenger gateway protocol: an
// external service (the platform's 7loc.com integration) that carries a
// business's WhatsApp, Telegram and Viber messages instead of the direct
// providers. The package sends messages to the gateway, classifies its
// answers, states the rate limit the router enforces, and decodes the
// gateway's signed callbacks.
//
// # Signing (both directions)
//
// Every request, ours and the gateway's, is signed the Standard Webhooks way:
//
//	webhook-id:        an id unique per message (our sends: the delivery id)
//	webhook-timestamp: unix seconds
//	webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
//
// The key is the configured secret's bytes as given; a secret of the form
// "whsec_<base64>" (Standard Webhooks' own format) is base64-decoded after the
// prefix instead. webhook-signature may hold several space-separated
// signatures (key rotation); one valid "v1," signature suffices. A receiver
// rejects a missing or wrong signature and a timestamp more than 5 minutes
// from its clock, before reading the body.
//
// # Sending
//
//	POST {url}/messages
//	Content-Type: application/json
//	Idempotency-Key: <delivery id>
//	webhook-id / webhook-timestamp / webhook-signature as above
//
//	{"id": "<delivery id>", "channel": "whatsapp|telegram|viber", "to": "<address>",
//	 "text": "...", "template": {"name", "language", "params"}?, "language": "<customer language>"}
//
// "to" is the hub's address: E.164 with '+' for WhatsApp, the chat id for
// Telegram, the user id for Viber. The gateway keeps WhatsApp's service window
// itself and uses the template outside it.
//
// The gateway deduplicates on Idempotency-Key: a repeated key gets the first
// answer and is sent once. So a timeout is transient and NOT MaybeSent: the
// router simply retries.
//
// Answers:
//
//	200/202 {"message_id": "...", "status": "queued"}      accepted; Receipt.ProviderMessageID = message_id
//	429 {"error":{"code":"rate_limited"}} + Retry-After    rate limited, ScopeSender (default pause 1 s)
//	429 {"error":{"code":"recipient_rate_limited"}}        rate limited, ScopeRecipient
//	4xx {"error":{"code":"blocked"}}                       permanent, Unreachable, reason blocked
//	4xx {"error":{"code":"unsubscribed"}}                  permanent, Unreachable, reason unsubscribed
//	4xx {"error":{"code":"invalid_recipient"}}             permanent, Unreachable, reason bad_address
//	4xx {"error":{"code":"window_closed"}}                 permanent, reason window_closed
//	401, 403, {"error":{"code":"unauthorized"|"channel_disabled"}}  permanent, reason config
//	409 {"error":{"code":"in_progress"}}                   transient (same key still being handled)
//	408                                                    transient, reason timeout
//	other 4xx                                              permanent, reason bad_request
//	5xx                                                    transient, reason provider_error
//	connection refused or dropped                          transient, reason provider_down
//
// SendError.Code is the error body's code, or the HTTP status when there is
// none. A message on a channel missing from the configuration's channels list
// is permanent "config" without a call.
//
// # Callbacks
//
// The gateway POSTs one JSON event per call to the hub's gateway endpoint,
// signed as above (webhook-id is the event's id); Decode verifies it first:
//
//	{"type":"status","channel"?,"message_id","delivery_id","status":"sent|delivered|read|failed","reason"?,"at"?}
//	{"type":"link","channel","address","token","name"?,"at"?}   a customer opened a link with a token
//	{"type":"stop","channel","address","at"?}                   the customer opted out
//	{"type":"message","channel","address","name"?,"at"?}        the customer wrote (opens WhatsApp's window)
//
// "at" is RFC 3339 (absent: now). Inbound.Channel is the body's channel, which
// must be whatsapp, telegram or viber when given (required except for status).
// A status event names its delivery by delivery_id (the hub's id, sent as
// "id" with the message) and, as a fallback, by message_id. Unknown event
// types are acknowledged and ignored, so a newer gateway does not make the
// hub fail its calls.
//
// # Limits
//
// Limits returns {"gateway:<first 12 hex digits of sha256(url)>",
// rate_per_second (default 50), burst 1}: one counter per gateway, whatever
// the channel.
package gateway
