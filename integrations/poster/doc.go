// Package poster owns the hub's connection to Poster POS (joinposter.com):
// the OAuth connection of a business's Poster account, reading closed checks
// and customers through the web API, keeping a customer group named after the
// service, decoding and verifying Poster's webhook calls, and mapping a closed
// check to the hub's sale intake (hub.SaleInput). It stores nothing: the
// caller keeps tokens, dedupes webhooks and posts sales.
//
// Every wire fact below was read in joinposter/docs (snapshot 6158ac5f,
// files named per fact); facts marked "unverified" are our reading where the
// docs are silent.
//
// # Connecting (en/start/authApi.md)
//
// AuthorizeURL sends the owner to {base}/auth?client_id=…&redirect_uri=…
// &response_type=code (the docs call the app id client_id there and
// application_id on https://{account}.joinposter.com/api/auth; both are
// sent). Poster redirects to redirect_uri?code=…&account=…; it must match the
// app settings exactly. Unverified: the docs do not mention state; we send it,
// but the caller must not rely on Poster echoing it back (bind the flow with a
// cookie too). ExchangeCode POSTs a form (application_id,
// application_secret, grant_type=authorization_code, redirect_uri, code) to
// https://{account}.joinposter.com/api/v2/auth/access_token
// ({base}/v2/auth/access_token when BaseURL is not Poster's, for fakes and
// regional hosts).
// The answer has access_token ("{account_number}:{hex}", valid two years),
// account_number, user and ownerInfo. There is no refresh token: when the
// token stops working the owner must connect again.
//
// # Calling the API (en/start/request.md, en/web/errors.md)
//
// Methods are GET or POST {base}/{method}?token=…; POST bodies are forms.
// Answers are {"response": …} or {"error":{"code":N,"message":…}}, usually
// with HTTP 200. Errors become *Error with a Kind:
//
//	code / status                  kind          notes
//	10, 11, 12                     auth_revoked  no token, invalid token, token expired;
//	                                             mark the connection broken
//	HTTP 401 without a code        auth_revoked
//	700                            rate_limited  "Rate restriction"; Retry-After if sent
//	HTTP 429                       rate_limited
//	44                             transient     "Error saving data" (Poster side)
//	HTTP 5xx, 408, network,        transient     also an unparseable 200 answer
//	timeout, cancellation
//	any other code (20, 32, 34,    permanent     32 and 404 also satisfy IsNotFound;
//	54, 404, 143, …) or HTTP 4xx                 with HTTP 5xx such a code is transient
//
// Poster documents no numeric rate limit; 700 is its signal (unverified
// whether it sends Retry-After). Timeouts come from the context and from Client.HTTP (30 s by default).
// Error messages never contain the token (it travels in the URL).
//
// # Checks (en/web/dash/getTransaction.md)
//
// Transaction calls dash.getTransaction?transaction_id=…&include_products=true,
// whose response is a one-element list. Sums (sum, payed_sum, payed_cash,
// payed_card, payed_bonus, payed_third_party, product_price, payed_sum of a
// product) are integers in minor units, sent as strings; Kopecks keeps them
// as int64 and Decimal renders them exactly ("12345" → "123.45"). status is
// 1 open, 2 closed, 3 removed. date_close is documented as a Unix timestamp
// and shown in milliseconds ("1518873046314"; 0 while open);
// date_close_date is "Y-m-d H:i:s" in the account's zone, so the millisecond
// value is used. Unverified: that product_price is the unit price (the
// example has num 1 only; its history shows the unit price 10.5 for 1050).
//
// # Customers
//
// Sources: en/web/clients/getClient.md, getClients.md, createClient.md,
// getGroups.md, createGroup.md and ru/market/guidelines/loyalty.md.
// ClientByID calls clients.getClient?client_id= (a one-element list; none is
// a not_found *hub.Error); FindClientByPhone calls clients.getClients?phone=
// ("international format": we send E.164 with the "+", unverified whether
// Poster also wants it without) and returns nil, nil when nobody has it;
// fields include phone (as typed), phone_number (digits), email and
// client_groups_id. CreateClient POSTs clients.createClient with client_name,
// client_groups_id_client and optional phone (unique per account), email,
// birthday (Y-m-d), card_number, comment; the response is the new id.
// EnsureGroup lists clients.getGroups and, when no live group has the name,
// POSTs clients.createGroup with client_groups_name, loyalty_type 2 and
// client_groups_discount 0 — Poster's loyalty guideline asks apps to create
// a group named after the service with a 0% discount.
//
// # Webhooks (en/web/webhooks.md, ru/web/webhooks.md)
//
// Poster POSTs JSON {account, account_number, object, object_id, action,
// time, verify, data?} and retries 15 times over two days unless answered
// with HTTP 200 (ru). verify is md5(implode(";", [account, object,
// object_id, action, data if present, time, application_secret])):
// account_number is not signed, and time is signed although the prose table
// leaves it out (the reference PHP includes it; we follow the code). Each
// part is the text PHP's implode gives the json_decode'd value: a string's
// value, a number's literal (object_id comes as 1 or "1"), "" for null. data
// is a JSON-encoded string in the field ("data":"{\"transactions_history\":…}"
// in a real body quoted by kosach/caffe-control-gcp docs/poster/web-hooks.md;
// the official docs show no data example), so its string value is signed; PHP's isset skips a null data. Unverified: data
// sent as a JSON object (PHP itself would sign "Array"); we sign its raw JSON
// text. The comparison is constant time.
//
// Which webhooks announce a sale: the docs list object transaction
// ("Orders"; the ru doc's example is subscribing to transaction and closing
// an order) with actions added, changed, removed, transformed, and
// client_payed_sum ("Order closed with a client") whose object_id is not
// documented. Integrations in the field receive action "closed" for
// transactions (kosach/caffe-control-gcp and other public handlers accept
// it; not in the docs). Webhook.ClosedCheck therefore
// fetches for transaction/closed, and for transaction/changed unless data
// shows an edit other than a close; the fetched status decides. Subscribe
// the app to "transaction".
//
// # Sales
//
// SaleFromTransaction maps a closed check (status 2) to hub.SaleInput; see
// its doc for each field. The total is payed_sum, which getTransaction.md
// defines as payed_cash plus payed_card: bonus points, certificates and
// third-party payments (a loyalty app's orders.setOrderBonus discount) do
// not count, so a reward does not earn stamps. sum is the total before
// discounts and is not used.
package poster
