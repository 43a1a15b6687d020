// Package syrvefake is a scriptable stand-in for the Syrve (iiko Cloud) API for
// tests of the syrve adapter and of anything built on it.
//
// A Server serves, in Syrve's wire format (POST with JSON bodies, error answers
// {"errorDescription","error","correlationId"}):
//
//	/api/1/access_token                               apiLogin → token (401 for another apiLogin)
//	/api/1/organizations                              one organization (Extended info)
//	/api/1/webhooks/update_settings, /settings        stores the URI, authToken and filter
//	/api/1/order/by_id, /api/1/deliveries/by_id        orders by id
//	/api/1/terminal_groups                            one terminal group
//	/api/1/reserve/available_restaurant_sections      one section with the tables
//	/api/1/order/by_table                             table orders by tables, statuses, creation date
//	/api/1/deliveries/by_delivery_date_and_status     deliveries by delivery date and statuses
//	/api/1/loyalty/iiko/customer/info                 guests by phone (type "phone" only)
//
// Every call but access_token needs "Authorization: Bearer <token>" with a
// token the server issued and has not expired (401 otherwise). Tests script
// it: ExpireTokens makes every issued token expire early, FailNext answers the
// next calls with an HTTP status (5xx, 429 with Retry-After), Calls counts the
// calls per path, AddOrder and CloseOrder change orders, and SendWebhook
// POSTs the real webhook body (a JSON array of one order update) to the
// registered URI with the registered authToken in the Authorization header;
// LoseWebhooks makes SendWebhook drop them, as a lost delivery would, so
// reconciliation can be tested. Times on the wire are local terminal times in
// Config.Zone. Everything is safe for concurrent use.
package syrvefake
