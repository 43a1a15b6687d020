// Package ratelimit limits requests per API key with a GCRA (generic cell rate
// algorithm) token bucket kept in Redis through go-redis/redis_rate, so every
// API replica shares one budget per key. A key busy in a process costs one
// Redis call per batch of tokens (sized to about 50 ms of its traffic, at
// most a tenth of the burst) instead of one per request; see Limiter.
//
// Throttle limits attempts per key (console logins per account and per
// client address). The channel senders' budgets are package sendbudget's.
package ratelimit
