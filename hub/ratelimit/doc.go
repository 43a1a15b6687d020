// Package ratelimit limits requests per API key with a GCRA (generic cell rate
// algorithm) token bucket kept in Redis through go-redis/redis_rate, so every
// API replica shares one budget per key.
package ratelimit
