// Package httpapi is the hub's HTTP surface: the gin router with every route in
// one table, API-key and operator authentication, the mapping of hub error codes
// to HTTP statuses, idempotency keys, pagination, rate limits, the public card
// page and the OpenAPI document served at /v1/openapi.json.
//
// Idempotency (middleware.go): a POST with an Idempotency-Key claims the key
// (hub.BeginIdempotent) and runs with the context it returns; withBody tells
// the domain how its response is encoded (hub.ReplyWith), so that use cases
// that can store the response in the transaction of their effect do; the
// rest is stored after the handler (hub.FinishIdempotent).
package httpapi
