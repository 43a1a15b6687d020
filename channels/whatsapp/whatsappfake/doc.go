// Package whatsappfake is a scriptable stand-in for the WhatsApp Cloud API
// (Meta Graph API) for tests and benchmarks of any package.
//
// A Server serves POST /{version}/{phone_number_id}/messages in Meta's wire
// format: it checks the bearer token (190 OAuthException when wrong), the phone
// number id (100 subcode 33), and the body's shape (100), tracks each
// recipient's 24-hour customer-service window (a text outside it fails with
// 131047 like Meta), enforces an optional throughput limit (130429), records
// the accepted messages and answers with a wamid. Tests script it: fail the
// next N calls or every call to one recipient with any Graph error (ErrorFor
// builds Meta's real ones), be slow, or be down (drop connections). Meta sends
// no Retry-After: its rate-limit signal is the error code.
//
// The webhook helpers build Meta's notification bodies (inbound messages and
// statuses) and sign them with the app secret, so tests call the hub's webhook
// exactly like Meta does. Everything is safe for concurrent use.
package whatsappfake
