// Package syrve owns the hub's connection to Syrve POS through the iiko Cloud
// API (Syrve is iiko's international brand; same API, host api-eu.syrve.live):
// the apiLogin's access token, the organizations it sees, registering the
// webhook for closed orders, fetching one order, listing closed orders for
// reconciliation, looking a guest up in Syrve Loyalty, checking and decoding
// Syrve's webhook calls, and mapping a closed order to hub.SaleInput.
//
// # Calls and tokens
//
// Every call is a POST with a JSON body. Client gets a token with
// POST /api/1/access_token {"apiLogin"} → {"token","correlationId"}, sends it
// as "Authorization: Bearer <token>", and refreshes it after
// TokenRefreshAfter (45 min; the spec says tokens live 1 hour) and once when a
// call is answered 401 (the token died early), making that call once more.
// Concurrent callers share one access_token call. A refused apiLogin
// (access_token answered 400 or 401) is KindAuth.
//
// # Errors
//
// Error answers are {"errorDescription","error","correlationId"} with HTTP
// 400, 401, 408 or 500 (spec: every path's responses). They become *Error:
//
//	HTTP 429                    rate_limited  RetryAfter from Retry-After, else 1 s
//	HTTP 5xx, 408               transient     RetryAfter from Retry-After when sent
//	HTTP 401, 403               auth          after the one refresh-and-retry
//	access_token 400            auth          the apiLogin is wrong
//	other 4xx                   permanent
//	transport failure, timeout  transient
//	undecodable 2xx answer      transient
//
// The caller's own cancellation is returned as ctx.Err().
//
// # Webhooks
//
// RegisterWebhook sets, with /api/1/webhooks/update_settings,
// {organizationId, webHooksUri, authToken, webHooksFilter: {tableOrderFilter:
// {orderStatuses: ["Closed"]}, deliveryOrderFilter: {orderStatuses:
// ["Closed"]}}}. Syrve sends the authToken back in the Authorization header;
// CheckAuth accepts it raw or as "Bearer <token>", in constant time. The body
// is a JSON array of {eventType, eventTime ("yyyy-MM-dd HH:mm:ss.fff", UTC),
// organizationId, correlationId, eventInfo}; for TableOrderUpdate and
// DeliveryOrderUpdate eventInfo is the order info {id, posId, organizationId,
// timestamp, creationStatus, errorInfo, order}, order being null unless
// creationStatus is Success (a thin event: fetch the order with Client.Order).
//
// # Sales
//
// SaleFromOrder maps only Closed orders. Money is the order's JSON number
// moved digit by digit into a decimal string with at least two fraction
// digits and never rounded (350.5 → "350.50", 0.3 → "0.30", 1.005 →
// "1.005"): see Decimal. Order times (whenClosed, whenCreated) are local
// terminal times without an offset; Client.Zone (Order.Zone) says which zone,
// UTC when unset. The terminal group's timeZone (/api/1/terminal_groups,
// "format: date-span") is not parsed: its exact content is unverified.
//
// # Reconciliation
//
// Syrve has no "closed between" listing. ClosedOrders asks
// /api/1/order/by_table (needs tableIds; filters statuses and dateFrom/dateTo
// on the creation date, kept 90 days) and
// /api/1/deliveries/by_delivery_date_and_status (deliveryDateFrom/To on the
// delivery date, guaranteed 7 days) for Closed orders from
// from-ClosedOrdersLookback to to, then keeps those whose whenClosed is in the
// window. Table ids come from /api/1/terminal_groups and
// /api/1/reserve/available_restaurant_sections. Neither listing paginates.
//
// # Sources of the wire facts
//
// From the upstream OpenAPI copy openapi/upstream/iikocloud.openapi.json in
// UserVanya/Iikocloud-py-sdk (snapshot c0c810f):
//
//   - /api/1/access_token: request {apiLogin}, answer {correlationId, token},
//     "The standard token lifetime is 1 hour"; errors 400/401/408/500 with
//     Errors.ErrorResponse {correlationId, errorDescription, error?}.
//   - /api/1/organizations (POST): {organizationIds, returnAdditionalInfo,
//     includeDisabled} → {organizations: [{responseType, id, name, code,
//     country, currencyIsoName…}]}.
//   - /api/1/webhooks/update_settings: {organizationId, webHooksUri,
//     authToken?, webHooksFilter?}; WebHooksFilter.{deliveryOrderFilter,
//     tableOrderFilter}.{orderStatuses, itemStatuses, errors}; answer
//     {correlationId}.
//   - /api/1/webhooks/settings: {organizationId} → {apiLoginName, webHooksUri,
//     authToken, webHooksFilter}.
//   - /api/1/order/by_id: {organizationIds, orderIds} → {orders:
//     [TableOrderInfo]}; /api/1/deliveries/by_id: {organizationId, orderIds} →
//     {orders: [OrderInfo]}.
//   - /api/1/order/by_table: {organizationIds, tableIds (required), statuses,
//     dateFrom, dateTo} → {orders}; /api/1/deliveries/by_delivery_date_and_status:
//     {organizationIds, deliveryDateFrom (required), deliveryDateTo, statuses}
//     → {maxRevision, ordersByOrganizations: [{organizationId, orders}]}.
//   - /api/1/terminal_groups → {terminalGroups, terminalGroupsInSleep: [{organizationId,
//     items: [{id…}]}]}; /api/1/reserve/available_restaurant_sections
//     {terminalGroupIds, returnSchema} → {restaurantSections: [{tables: [{id…}]}]}.
//   - Orders: TableOrders.Response.TableOrder and Deliveries.Response.Order.Order:
//     status (table New|Bill|Closed|Deleted; delivery Unconfirmed…Delivered|Closed|Cancelled),
//     sum (number, double), number, phone, customer {type regular|one-time,
//     id, name, surname}, whenCreated, whenClosed (local terminal time), items
//     [{type Product|Compound|Service, deleted, amount, product {id, name},
//     price, resultSum, primaryComponent, service}].
//   - x-webhooks TableOrderUpdateWebHookEventInfo / DeliveryOrderUpdateWebHookEventInfo:
//     array body, eventTime "(UTC)", eventInfo TableOrderInfo / OrderInfo.
//   - /api/1/loyalty/iiko/customer/info: {type: "phone", organizationId, phone}
//     → {id, name, surname, phone, email, cards, walletBalances…}.
//
// # Unverified
//
//   - The "not found" answer of customer/info: the spec lists no such case.
//     HTTP 400 (or 404) whose errorDescription or error says "not found",
//     "there is no user" or "no customer" is taken as not found; the fake
//     answers 400 "Customer with phone … not found". Check on a test org.
//   - That Syrve sends 429 and Retry-After at all (the spec lists only
//     400/401/408/500); both are handled.
//   - That a wrong apiLogin gets 401 rather than 400 (both are KindAuth).
//   - The Authorization header form of webhook calls (raw token): from
//     public handlers, not the spec, so both forms are accepted.
//   - That /api/1/order/by_id and /api/1/deliveries/by_id answer an unknown
//     id with an empty "orders" list (assumed; an error answer would surface
//     as a permanent *Error instead of ErrNotFound).
//   - Any limit on tableIds per by_table call (100 per call here) and the
//     size of the answers.
//   - Whether orders rung up at the till (not created through the API) fire
//     TableOrderUpdate at all; see /work/shared/research/pos.md §5.
package syrve
