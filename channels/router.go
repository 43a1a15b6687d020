package channels

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/7loc/hub/hub"
)

// Sender is a provider's sending side.
type Sender interface {
	// Send delivers one message; errors are *hub.SendError.
	Send(ctx context.Context, m hub.Message) (hub.Receipt, error)
	// Limits are the budgets to take before sending m.
	Limits(m hub.Message) []hub.RateLimit
}

// Factory builds the Sender of a provider configuration.
type Factory func(cfg *hub.ChannelConfig) (Sender, error)

// Limiter keeps rate budgets and pauses shared by every worker.
type Limiter interface {
	// Take takes a slot of every budget at once if none is paused and every
	// slot comes within maxWait (ok, and how long until the last); otherwise
	// it takes nothing and says when to come back.
	Take(ctx context.Context, limits []hub.RateLimit, maxWait time.Duration) (wait time.Duration, ok bool, err error)
	Pause(ctx context.Context, key string, d time.Duration) error
}

// BatchLimiter is a Limiter that also takes the slots of many messages in
// one round trip; the router uses it for a batch's group when it has one.
type BatchLimiter interface {
	Limiter
	// TakeEach is Take for each of many messages: waits[i] and oks[i]
	// answer for limits[i] as Take would; err is the limiter's trouble as a
	// whole (nothing is known taken).
	TakeEach(ctx context.Context, limits [][]hub.RateLimit, maxWait time.Duration) (waits []time.Duration, oks []bool, err error)
}

// Ledger is the delivery ledger (hub.Service).
type Ledger interface {
	PeekSend(ctx context.Context, k hub.DeliveryKey) (*hub.Outgoing, error)
	ClaimSend(ctx context.Context, k hub.DeliveryKey) (*hub.Outgoing, error)
	FinishSend(ctx context.Context, o *hub.Outgoing, r hub.Receipt, sendErr error, final bool) (hub.SendOutcome, error)
	ClaimSends(ctx context.Context, keys []hub.DeliveryKey) ([]hub.Claim, error)
	FinishSends(ctx context.Context, sent []hub.Sent, final bool) ([]hub.SendOutcome, error)
	// FinishAndClaim is FinishSends(sent, final) then ClaimSends(next) in
	// one transaction.
	FinishAndClaim(ctx context.Context, sent []hub.Sent, final bool, next []hub.DeliveryKey) ([]hub.SendOutcome, []hub.Claim, error)
}

// Config wires a Router.
type Config struct {
	Ledger  Ledger
	Limiter Limiter
	// Factories build senders by provider name (hub.Providers).
	Factories map[string]Factory
	// MaxWait is the longest a worker waits in place for a rate limit before
	// handing the message back to the queue. Zero means 2 s.
	MaxWait time.Duration
	// SendTimeout bounds one provider call. Zero means 15 s.
	SendTimeout time.Duration
	Logger      *slog.Logger
}

// Router delivers queued messages. It is safe for concurrent use.
type Router struct {
	cfg     Config
	senders sync.Map // business/provider -> cachedSender
}

type cachedSender struct {
	version time.Time
	sender  Sender
}

// NewRouter returns a Router.
func NewRouter(cfg Config) *Router {
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 2 * time.Second
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Router{cfg: cfg}
}

// RetryError asks the queue to run the delivery again after After. A rate
// limited retry is not a failure and does not use up attempts.
type RetryError struct {
	After       time.Duration
	RateLimited bool
	Err         error
}

// Error implements error.
func (e *RetryError) Error() string {
	if e.RateLimited {
		return fmt.Sprintf("rate limited, retry in %s", e.After)
	}
	return fmt.Sprintf("retry later: %v", e.Err)
}

// Unwrap returns the cause.
func (e *RetryError) Unwrap() error { return e.Err }

// Deliver sends one queued delivery at most once. final says the queue will
// not retry again, so a transient failure fails the delivery. A nil error
// means the delivery is settled (sent, failed or unknown) or not pending; a
// *RetryError asks for another run.
func (r *Router) Deliver(ctx context.Context, k hub.DeliveryKey, final bool) error {
	out, err := r.cfg.Ledger.PeekSend(ctx, k)
	if err != nil {
		return err
	}
	if out == nil {
		// Final, in flight or unsendable: the claim records which.
		_, err := r.cfg.Ledger.ClaimSend(ctx, k)
		return inFlight(err)
	}
	if wait := time.Until(out.HoldUntil); !out.HoldUntil.IsZero() && wait > 0 {
		// Quiet hours or a paused campaign: back to the queue, not a failure.
		return &RetryError{After: wait, RateLimited: true}
	}
	sender, err := r.sender(out.Config)
	if err != nil {
		// A configuration the provider package rejects: fail it for good.
		return r.finishUnclaimed(ctx, k, &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}, final)
	}
	limits := ordered(sender.Limits(out.Message))
	if err := r.waitTurn(ctx, limits); err != nil {
		return err
	}
	out, err = r.cfg.Ledger.ClaimSend(ctx, k)
	if err != nil || out == nil {
		return inFlight(err)
	}
	sendCtx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
	receipt, sendErr := sender.Send(sendCtx, out.Message)
	cancel()
	// Record the answer even if the task's context ended meanwhile.
	outcome, err := r.cfg.Ledger.FinishSend(context.WithoutCancel(ctx), out, receipt, sendErr, final)
	if err != nil {
		return err
	}
	return r.settled(ctx, out, limits, sendErr, outcome, false)
}

// settled logs a failed send, pauses the budget a provider's rate limit
// names, and turns the ledger's outcome into Deliver's answer. local marks
// a refusal of our own limiter, which pauses nothing.
func (r *Router) settled(ctx context.Context, out *hub.Outgoing, limits []hub.RateLimit, sendErr error, outcome hub.SendOutcome, local bool) error {
	if sendErr != nil && !local {
		se := hub.AsSendError(sendErr)
		r.cfg.Logger.InfoContext(ctx, "send failed", "delivery", out.Delivery.ID, "provider", out.Config.Provider,
			"kind", se.Kind, "reason", se.Reason, "code", se.Code, "retry", outcome.Retry)
		if se.Kind == hub.SendRateLimited && se.RetryAfter > 0 && len(limits) > 0 {
			key := limits[len(limits)-1].Key // the sender-wide budget
			if se.Scope == hub.ScopeRecipient {
				key = limits[0].Key
			}
			if err := r.cfg.Limiter.Pause(ctx, key, se.RetryAfter); err != nil {
				r.cfg.Logger.WarnContext(ctx, "cannot pause provider", "key", key, "err", err)
			}
		}
	}
	if outcome.Retry {
		return &RetryError{After: outcome.RetryAfter, RateLimited: outcome.RateLimited, Err: sendErr}
	}
	return nil
}

// finishTries is how often DeliverBatch tries to record the answers of a
// batch before it gives up (the deliveries then stay sending, and a later
// claim records them unknown: never sent twice).
const finishTries = 3

// DeliverBatch sends many queued deliveries, parallel at a time, in groups
// of parallel: one ledger transaction claims the first group, each group's
// providers' answers are recorded in the transaction that claims the next
// group, where Deliver pays three per delivery. Claiming no more than it
// sends at once keeps what a crash can leave unknown (claimed, maybe sent)
// to parallel deliveries per task, as with Deliver. results[i] is what
// Deliver would return for keys[i]; err, for the batch as a whole, means a
// group could not be claimed or its answers not recorded (the groups before
// it are settled; a rerun skips them).
func (r *Router) DeliverBatch(ctx context.Context, keys []hub.DeliveryKey, final bool, parallel int) (results []error, err error) {
	parallel = max(parallel, 1)
	group := func(start int) []hub.DeliveryKey {
		if start >= len(keys) {
			return nil
		}
		return keys[start:min(start+parallel, len(keys))]
	}
	results = make([]error, 0, len(keys))
	if len(keys) == 0 {
		return results, nil
	}
	claims, err := r.cfg.Ledger.ClaimSends(ctx, group(0))
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(keys); start += parallel {
		var res []error
		res, claims, err = r.deliverGroup(ctx, claims, final, group(start+parallel))
		if err != nil {
			return nil, err
		}
		results = append(results, res...)
	}
	return results, nil
}

// deliverGroup sends a claimed group all at once, records the answers and
// claims next (when there is one) in one transaction, and returns the
// group's results and next's claims.
func (r *Router) deliverGroup(ctx context.Context, claims []hub.Claim, final bool, next []hub.DeliveryKey) (results []error, nextClaims []hub.Claim, err error) {
	results = make([]error, len(claims))
	sent := make([]hub.Sent, len(claims))
	limits := make([][]hub.RateLimit, len(claims))
	senders := make([]Sender, len(claims))
	local := make([]bool, len(claims))
	var todo []int // the claims to send
	for i, c := range claims {
		switch {
		case c.Err != nil:
			results[i] = inFlight(c.Err)
			continue
		case !c.HoldUntil.IsZero():
			results[i] = &RetryError{After: max(time.Until(c.HoldUntil), time.Second), RateLimited: true}
			continue
		case c.Out == nil:
			continue // final, or failed for a reason the ledger recorded
		}
		sent[i].Out = c.Out
		sender, err := r.sender(c.Out.Config)
		if err != nil {
			sent[i].Err = &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Err: err}
			continue
		}
		senders[i], limits[i] = sender, ordered(sender.Limits(c.Out.Message))
		todo = append(todo, i)
	}
	turns := r.takeTurns(ctx, todo, limits)
	var wg sync.WaitGroup
	for _, i := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if t, ok := turns[i]; ok {
				err = r.await(ctx, t)
			} else {
				err = r.waitTurn(ctx, limits[i])
			}
			if err != nil {
				// Our own limiter refused (or is away): back to pending, no
				// attempt spent.
				after := time.Second
				var re *RetryError
				if errors.As(err, &re) {
					after = re.After
				}
				sent[i].Err = &hub.SendError{Kind: hub.SendRateLimited, Reason: "rate_limited", RetryAfter: after, Err: err}
				local[i] = true
				return
			}
			sendCtx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
			sent[i].Receipt, sent[i].Err = senders[i].Send(sendCtx, sent[i].Out.Message)
			cancel()
		}()
	}
	wg.Wait()
	var answered []hub.Sent
	var index []int
	for i := range sent {
		if sent[i].Out != nil {
			answered = append(answered, sent[i])
			index = append(index, i)
		}
	}
	if len(answered) == 0 {
		if next != nil {
			if nextClaims, err = r.cfg.Ledger.ClaimSends(ctx, next); err != nil {
				return nil, nil, err
			}
		}
		return results, nextClaims, nil
	}
	var outcomes []hub.SendOutcome
	merged := false
	if next != nil && ctx.Err() == nil {
		// Record the answers even if the task's context ends meanwhile.
		outcomes, nextClaims, err = r.cfg.Ledger.FinishAndClaim(context.WithoutCancel(ctx), answered, final, next)
		merged = err == nil
	}
	if !merged {
		// Alone, and tried again: the answers matter more than the next claim.
		err = r.record(ctx, len(answered), func(ctx context.Context) (err error) {
			outcomes, err = r.cfg.Ledger.FinishSends(ctx, answered, final)
			return err
		})
		if err == nil && next != nil {
			nextClaims, err = r.cfg.Ledger.ClaimSends(ctx, next) // fails if the task's context ended
		}
	}
	if err != nil {
		return nil, nil, err
	}
	for j, i := range index {
		results[i] = r.settled(ctx, sent[i].Out, limits[i], sent[i].Err, outcomes[j], local[i])
	}
	return results, nextClaims, nil
}

// record runs a ledger call that records n providers' answers, trying
// finishTries times, even if the task's context ended meanwhile.
func (r *Router) record(ctx context.Context, n int, call func(ctx context.Context) error) error {
	for try := 1; ; try++ {
		err := call(context.WithoutCancel(ctx))
		if err == nil {
			return nil
		}
		if try == finishTries {
			return fmt.Errorf("record %d answers: %w", n, err)
		}
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
	}
}

// inFlight turns the ledger's "another worker is sending it" into a retry
// after the time that attempt may take, not counted as a failure.
func inFlight(err error) error {
	if errors.Is(err, hub.ErrInFlight) {
		return &RetryError{After: hub.SendingStaleAfter, RateLimited: true, Err: err}
	}
	return err
}

// finishUnclaimed claims a delivery only to record a failure decided before
// sending.
func (r *Router) finishUnclaimed(ctx context.Context, k hub.DeliveryKey, err error, final bool) error {
	out, cerr := r.cfg.Ledger.ClaimSend(ctx, k)
	if cerr != nil || out == nil {
		return inFlight(cerr)
	}
	_, ferr := r.cfg.Ledger.FinishSend(ctx, out, hub.Receipt{}, err, final)
	return ferr
}

// ordered sorts limits most specific first (the longest key: a chat's
// budget before its bot's), so a refused recipient does not spend the
// shared budget.
func ordered(limits []hub.RateLimit) []hub.RateLimit {
	// A copy: a sender may hand every caller the same slice, and a batch
	// orders the limits of several messages at once.
	limits = slices.Clone(limits)
	sort.SliceStable(limits, func(i, j int) bool {
		return strings.Count(limits[i].Key, ":") > strings.Count(limits[j].Key, ":")
	})
	return limits
}

// turn is the limiter's answer for one message of a group.
type turn struct {
	wait time.Duration
	ok   bool
	err  error
}

// takeTurns takes the rate-limit slots of a group's messages (the
// positions which, of limits) in one call when the limiter is a
// BatchLimiter and more than one message needs slots; the answers are by
// position. Otherwise it returns nil and each message takes its own
// (waitTurn).
func (r *Router) takeTurns(ctx context.Context, which []int, limits [][]hub.RateLimit) map[int]turn {
	bl, ok := r.cfg.Limiter.(BatchLimiter)
	if !ok || len(which) < 2 {
		return nil
	}
	batch := make([][]hub.RateLimit, len(which))
	for j, i := range which {
		batch[j] = limits[i]
	}
	turns := make(map[int]turn, len(which))
	waits, oks, err := bl.TakeEach(ctx, batch, r.cfg.MaxWait)
	for j, i := range which {
		if err != nil {
			turns[i] = turn{err: err}
		} else {
			turns[i] = turn{wait: waits[j], ok: oks[j]}
		}
	}
	return turns
}

// await is waitTurn's second half for a slot already asked for.
func (r *Router) await(ctx context.Context, t turn) error {
	switch {
	case t.err != nil:
		return t.err
	case !t.ok:
		return &RetryError{After: t.wait, RateLimited: true}
	case t.wait <= 0:
		return nil
	}
	timer := time.NewTimer(t.wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// waitTurn takes a slot of every limit in one call to the shared limiter
// and waits for the latest, unless a pause holds or a slot lies beyond
// MaxWait: then the message goes back to the queue.
func (r *Router) waitTurn(ctx context.Context, limits []hub.RateLimit) error {
	if len(limits) == 0 {
		return nil
	}
	wait, ok, err := r.cfg.Limiter.Take(ctx, limits, r.cfg.MaxWait)
	return r.await(ctx, turn{wait: wait, ok: ok, err: err})
}

// sender returns the cached Sender of a configuration, rebuilt when the
// configuration changes.
func (r *Router) sender(cfg *hub.ChannelConfig) (Sender, error) {
	key := cfg.BusinessID + "/" + cfg.Provider
	if v, ok := r.senders.Load(key); ok && v.(cachedSender).version.Equal(cfg.UpdatedAt) {
		return v.(cachedSender).sender, nil
	}
	f, ok := r.cfg.Factories[cfg.Provider]
	if !ok {
		return nil, errors.New("no sender for provider " + cfg.Provider)
	}
	s, err := f(cfg)
	if err != nil {
		return nil, err
	}
	if old, loaded := r.senders.Swap(key, cachedSender{version: cfg.UpdatedAt, sender: s}); loaded {
		closeSender(old.(cachedSender).sender, s)
	}
	return s, nil
}

// closeSender releases what a replaced sender holds (the APNs client's idle
// HTTP/2 connections) when it has a Close method. Close must leave calls in
// flight alone: a worker may still be sending through the old sender.
func closeSender(old, replacement Sender) {
	if c, ok := old.(interface{ Close() }); ok && old != replacement {
		c.Close()
	}
}

// RetryIn is how long the queue should wait before the next run (zero: its
// own backoff).
func (e *RetryError) RetryIn() time.Duration { return e.After }

// NotFailure reports whether the retry is a rate limit, which uses up no
// attempt.
func (e *RetryError) NotFailure() bool { return e.RateLimited }
