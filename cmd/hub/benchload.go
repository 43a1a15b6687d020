package main

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec says how runLoad sends requests. With rate 0 it is a closed
// loop: clients connections each send a request, wait for its answer and
// send the next. With a rate it is an open loop: request i is due at
// start + i/rate whatever the answers take, and its latency counts from
// that scheduled time, so that a server falling behind shows its queueing
// in the latency instead of slowing the load down (coordinated omission).
// An open loop keeps at most clients requests in flight (each on its own
// connection, as wrk2 does); a request that waits for a free connection
// is late, and its lateness is part of its latency.
type loadSpec struct {
	addr    string
	clients int
	// n requests in all, or (n = 0) as many as duration allows.
	n        int
	duration time.Duration
	rate     int
	// retry sends a refused request (not 2xx) again, up to 100 times, after
	// 100 ms on a 429 in a closed loop and always in an open loop, as a till
	// or a point of sale would; the latency is that of the first answer.
	retry bool
}

// loadRun is what runLoad saw.
type loadRun struct {
	// lats holds the latency of every answered request by index (zero for
	// a request that got no answer); ok tells which answers were 2xx.
	lats []time.Duration
	ok   []bool
	// statuses counts first answers by HTTP status; 0 is a transport error
	// (no answer).
	statuses map[int]int
	// retried counts requests sent again (retry).
	retried int
	elapsed time.Duration
	// err is the first transport error.
	err error
}

// sent is how many requests went out (first tries).
func (r *loadRun) sent() int {
	n := 0
	for _, c := range r.statuses {
		n += c
	}
	return n
}

// accepted is how many requests were answered 2xx.
func (r *loadRun) accepted() int {
	n := 0
	for st, c := range r.statuses {
		if st/100 == 2 {
			n += c
		}
	}
	return n
}

// percentiles returns p50, p99 and max of the latencies of the 2xx answers
// (all answers when acceptedOnly is false); zeros when there are none.
func (r *loadRun) percentiles(acceptedOnly bool) (p50, p99, maxLat time.Duration) {
	var s []time.Duration
	for i, l := range r.lats {
		if i < len(r.ok) && (r.ok[i] || (!acceptedOnly && l > 0)) {
			s = append(s, l)
		}
	}
	if len(s) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)], s[len(s)-1]
}

// runLoad sends requests with send (the client to use, the request's
// index; it returns the HTTP status) as spec says, until n are sent, the
// duration has passed or ctx ends.
func runLoad(ctx context.Context, spec loadSpec, send func(*benchClient, int) (int, error)) *loadRun {
	total := spec.n
	if total == 0 {
		switch {
		case spec.rate > 0:
			total = int(spec.duration.Seconds() * float64(spec.rate))
		default:
			total = 1 << 26 // bounded by the duration
		}
	}
	var deadline time.Time // a closed loop's end; an open loop sends every request due within its duration
	if spec.n == 0 && spec.rate == 0 {
		deadline = time.Now().Add(spec.duration)
	}
	var interval time.Duration
	if spec.rate > 0 {
		interval = time.Second / time.Duration(spec.rate)
	}
	type answer struct {
		i      int
		lat    time.Duration
		status int
	}
	var (
		next     atomic.Int64
		retried  atomic.Int64
		mu       sync.Mutex
		answers  []answer
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range max(spec.clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &benchClient{addr: spec.addr}
			defer cl.close()
			mine := make([]answer, 0, 1024)
			var myErr error
			defer func() {
				mu.Lock()
				answers = append(answers, mine...)
				if firstErr == nil {
					firstErr = myErr
				}
				mu.Unlock()
			}()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= total {
					return
				}
				t0 := time.Now()
				if interval > 0 {
					t0 = start.Add(time.Duration(i) * interval)
					time.Sleep(time.Until(t0))
				}
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				st, err := send(cl, i)
				lat := time.Since(t0)
				if err != nil {
					st = 0
					if myErr == nil {
						myErr = err
					}
				}
				mine = append(mine, answer{i, lat, st})
				for tries := 0; spec.retry && err == nil && st/100 != 2 && tries < 100; tries++ {
					retried.Add(1)
					if st == http.StatusTooManyRequests || interval > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					st, err = send(cl, i)
				}
				if err != nil && myErr == nil {
					myErr = err
				}
			}
		}()
	}
	wg.Wait()
	r := &loadRun{statuses: map[int]int{}, retried: int(retried.Load()), elapsed: time.Since(start), err: firstErr}
	n := 0
	for _, a := range answers {
		n = max(n, a.i+1)
	}
	r.lats, r.ok = make([]time.Duration, n), make([]bool, n)
	for _, a := range answers {
		r.lats[a.i], r.ok[a.i] = a.lat, a.status/100 == 2
		r.statuses[a.status]++
	}
	return r
}
