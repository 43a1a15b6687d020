// Package hub is the domain of the loyalty hub: businesses, staff and their API
// keys, customers, card templates, cards and stamps, vouchers and the event log
// with its fourteen event types; and messaging: channel configurations, the
// delivery ledger, business settings, message templates (rendered through the
// Renderer interface), audiences, one-off messages and the campaign engine.
//
// It owns the rules (how stamps cross goals, when a voucher may be redeemed,
// who may see what) and the use cases in Service. It imports nothing but the
// standard library; storage, queues and HTTP live in subpackages and reach the
// domain through the small interfaces declared here (Store, Tx, EventPublisher).
// Errors carry a Code; the HTTP layer maps codes to statuses in one place.
//
// Every use case writes through Service.write: its state, its events and,
// in a request with an Idempotency-Key (BeginIdempotent), the key's commit
// mark in one transaction; a use case that computes its response there
// (reply; the stamps do) stores the response with it, so a crash after the
// commit can only replay the first result (idempotency.go).
package hub
