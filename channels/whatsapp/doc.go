// Package whatsapp owns the hub's direct connection to the WhatsApp Business
// Cloud API (Meta Graph API): sending one message to one customer, the rate
// limits the router enforces before sending, and decoding Meta's webhook calls
// (the GET subscription handshake and signed POST notifications of inbound
// messages and delivery statuses).
//
// # Sending
//
// Send POSTs to {base}/{GraphVersion}/{phone_number_id}/messages with the
// access token as a bearer token. While the 24-hour customer-service window is
// open (Options.Now() before Message.WindowUntil) and the message has a text,
// it sends a free-form text message; otherwise an approved template:
// Message.Template when set, else the configured template_name and
// template_language with the text as its single body parameter. When a text
// message is refused with 131047 (more than 24 h since the customer's last
// message) it is sent once more as a template. Meta has no idempotency key, so a
// timeout after the request was written is reported with MaybeSent.
//
// # Errors
//
// Graph errors ({"error":{"message","type","code","error_subcode",
// "error_data":{"messaging_product","details"},"fbtrace_id"}}) are classified by
// code into *hub.SendError (Code is the Graph code as a decimal string):
//
//	code                          kind          reason          notes
//	130429 throughput             rate limited  rate_limited    ScopeSender, RetryAfter 1 s
//	4, 80007 API call rate        rate_limited  rate_limited    ScopeSender, RetryAfter 60 s (hourly budgets)
//	131048 spam rate limit        rate limited  rate_limited    ScopeSender, RetryAfter 1 h: Meta throttles a
//	                                                            number flagged for low quality for an unstated
//	                                                            time; hammering it makes it worse
//	131056 pair rate limit        rate limited  rate_limited    ScopeRecipient, RetryAfter 6 s (1 msg / 6 s / user)
//	131026 undeliverable          permanent     bad_address     Unreachable (not on WhatsApp, blocked us, old app)
//	131021 recipient is sender    permanent     bad_address     Unreachable
//	131050 stopped marketing      permanent     unsubscribed    Unreachable
//	131047 re-engagement          permanent     window_closed   after the template retry; not Unreachable
//	131049 ecosystem limit        permanent     ecosystem_limit Meta chose not to deliver (per-user marketing cap)
//	190, 10, 200-299, 3           permanent     config          token or permission
//	100 subcode 33                permanent     config          phone_number_id does not exist for the token
//	131031, 131042, 133010, 368   permanent     config          account locked, payment, number not registered,
//	                                                            policy block: the operator must act
//	100, 131008, 131009, 131051,  permanent     bad_request     bad parameters or template
//	132000-132016, 135000
//	131000, 1, 2, 131057          transient     provider_error
//	131016                        transient     provider_down   service unavailable
//	other code, HTTP 429          rate limited  rate_limited    ScopeSender, Retry-After or 1 s
//	other code, HTTP 5xx          transient     provider_error
//	other code, HTTP 401/403      permanent     config
//	other code, other HTTP 4xx    permanent     provider_error
//
// A Retry-After header, when Meta sends one, overrides the default pause. A
// timeout (the context's deadline or the client's) is transient "timeout", with
// MaybeSent when the request had been written; a refused or dropped connection
// is transient "provider_down". An address that is not E.164 is permanent
// "bad_address" (Unreachable) without a call.
//
// # Limits
//
// Limits returns the phone number's throughput, {"whatsapp:<phone_number_id>",
// rate_per_second (default 80, Meta's default per number), burst 1}, and the
// pair rate limit, {"whatsapp:<phone_number_id>:<to>", 1/6 per second, burst
// 1}: Meta allows one message every 6 seconds to the same user (it tolerates
// short bursts by borrowing from later, which the hub does not rely on).
//
// # Webhooks
//
// Decode answers Meta's verification GET (hub.mode=subscribe and
// hub.verify_token equal to verify_token) by echoing hub.challenge as
// text/plain, and checks a POST's X-Hub-Signature-256 ("sha256=" + hex
// HMAC-SHA256 of the raw body keyed with app_secret, compared in constant time)
// before reading it. Inbound messages of any type but "system" become
// InboundMessage events (they open the window); statuses sent, delivered, read
// and failed become InboundStatus events, a failure's Reason being
// "<code> <title>" of its errors. Changes of other fields, other statuses, and
// entries for another phone_number_id are ignored.
package whatsapp
