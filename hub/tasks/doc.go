// Package tasks is the hub's work on the asynq queue: the task names and their
// id-only payloads, the Publisher that enqueues the dispatch of committed
// events (the fast path of the transactional outbox), the handlers, the outbox
// relay that re-enqueues events committed but never dispatched, and the
// periodic maintenance (voucher expiry, idempotency purge), message sends,
// and the campaign engine's tasks (runner, send chunks, tick).
//
// asynq delivers at least once, so every handler is idempotent: the database
// decides (an event is dispatched once, a voucher expires once); the asynq
// TaskID only keeps duplicates out of the queue.
package tasks
