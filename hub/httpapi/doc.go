// Package httpapi is the hub's HTTP surface: the gin router with every route in
// one table, API-key and operator authentication, the mapping of hub error codes
// to HTTP statuses, idempotency keys, pagination, rate limits, the public card
// page and the OpenAPI document served at /v1/openapi.json.
package httpapi
