// Package email owns the hub's email channel: sending one message to one
// customer through the business's own SMTP server (composed and sent with
// github.com/wneessen/go-mail), classifying the server's refusals for the
// router, and the rate limit the router enforces before sending. Opt-out is
// not handled here: the hub owns the unsubscribe endpoint; this package only
// advertises it in the headers.
//
// # Configuration
//
// The fields are hub.ChannelFields["email"]: host, port (587), username,
// password (secret), from, from_name, tls ("starttls": STARTTLS is required;
// "tls": TLS from the first byte, port 465 style; "none") and rate_per_second
// (10). AUTH happens only when username is set, with PLAIN or else LOGIN when
// the server offers them (else the strongest mechanism go-mail can discover),
// and only over TLS: tls "none" with a username is refused unless the host is
// the loopback. Options holds the operator's settings: the session timeout and
// the client TLS configuration.
//
// # Messages
//
// Each Send opens one SMTP session (no pooling) and writes:
//
//	From: from_name <from>
//	To: Message.To
//	Subject: Message.Subject (line breaks become spaces)
//	Date: Options.Now()
//	Message-ID: <DeliveryID@domain of from>   (stable: receivers can dedup retries)
//	X-Hub-Delivery: DeliveryID
//	Content-Language: Message.Language        (when it is a language tag)
//	List-Unsubscribe: <UnsubscribeURL>        (when set)
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click   (RFC 8058; https URLs only)
//
// The body is Message.Text as text/plain, with Message.HTML as a
// multipart/alternative text/html part when it is not empty (UTF-8,
// quoted-printable). The receipt's ProviderMessageID is the Message-ID,
// brackets included.
//
// # Errors
//
// Failures are *hub.SendError; Code is the reply code with the enhanced status
// code when the server gave one ("550 5.1.1"):
//
//	reply / failure                                  kind          reason         notes
//	5xx to RCPT: 550, 551, 553, 5.1.x, 5.2.1          permanent     bad_address    Unreachable (not 5.7.x: policy)
//	530, 534, 535, 538; 5.7.x while connecting        permanent     config         credentials or account
//	other 5xx                                         permanent     rejected
//	4xx saying "rate", "too many", "throttl…"         rate limited  rate_limited   ScopeSender (ScopeRecipient for
//	                                                                               4.2.1 to RCPT); RetryAfter from
//	                                                                               "in N seconds/minutes" or 60 s
//	other 4xx (421, 450, 451, 452, …)                 transient     provider_error
//	bad certificate, no STARTTLS, no usable AUTH      permanent     config
//	no answer after the final dot of DATA             transient     timeout        MaybeSent: SMTP has no
//	                                                                               idempotency key
//	refused, unreachable or timed-out dial            transient     provider_down
//	timeout (or the context's end) before the dot     transient     timeout
//	connection lost before the dot                    transient     provider_down
//	recipient that is not an address                  permanent     bad_address    Unreachable, no session
//
// A message the server accepted is a success even if RSET or QUIT fail after.
//
// # Limits
//
// Limits returns {"email:<host>:<first 8 hex digits of sha256(username)>",
// rate_per_second, burst 1}: one counter per SMTP account.
package email
