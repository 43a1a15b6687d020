package channels_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// fakeSender answers with what the test scripts and counts its calls.
type fakeSender struct {
	mu     sync.Mutex
	sent   []hub.Message
	answer func(m hub.Message) (hub.Receipt, error)
	limits []hub.RateLimit
}

func (f *fakeSender) Send(_ context.Context, m hub.Message) (hub.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	if f.answer != nil {
		return f.answer(m)
	}
	return hub.Receipt{ProviderMessageID: "pm-" + m.DeliveryID}, nil
}

func (f *fakeSender) Limits(hub.Message) []hub.RateLimit { return f.limits }

func (f *fakeSender) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// memLimiter is an in-memory Limiter that records what was taken and paused.
type memLimiter struct {
	mu     sync.Mutex
	taken  []string
	paused map[string]time.Duration
	refuse map[string]time.Duration
}

func (l *memLimiter) Take(_ context.Context, limits []hub.RateLimit, maxWait time.Duration) (time.Duration, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range limits {
		if d := l.refuse[r.Key]; d > maxWait {
			return d, false, nil // nothing taken
		}
	}
	for _, r := range limits {
		l.taken = append(l.taken, r.Key)
	}
	return 0, true, nil
}

func (l *memLimiter) Pause(_ context.Context, key string, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.paused[key] = d
	return nil
}

// relayRecorder is the message queue: it records the keys it is given.
type relayRecorder struct {
	mu   sync.Mutex
	keys []hub.DeliveryKey
}

func (r *relayRecorder) EnqueueDeliveries(_ context.Context, keys []hub.DeliveryKey) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = append(r.keys, keys...)
	return nil
}

func (r *relayRecorder) has(k hub.DeliveryKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.keys {
		if x == k {
			return true
		}
	}
	return false
}

type env struct {
	t        *testing.T
	ctx      context.Context
	svc      *hub.Service
	biz      string
	customer *hub.Customer
	sender   *fakeSender
	gateway  *fakeSender
	limiter  *memLimiter
	router   *channels.Router
	// relayed records what the service hands to the message queue.
	relayed *relayRecorder
	// skew moves the service's clock ahead of the real one (nanoseconds).
	skew atomic.Int64
}

func newEnv(t *testing.T, st *sqlstore.Store) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{relayed: &relayRecorder{}}
	svc, err := hub.NewService(hub.Config{Store: st, SecretKey: make([]byte, 32), PublicURL: "https://hub.test", Messages: e.relayed,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) },
		LinkURL: func(cfg *hub.ChannelConfig, token string) string {
			s, err := telegram.New(cfg, telegram.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return s.LinkURL(token)
		}})
	if err != nil {
		t.Fatal(err)
	}
	key, err := svc.EnsureKey(ctx, "Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := svc.Authenticate(ctx, key.Key)
	if err != nil {
		t.Fatal(err)
	}
	e.t, e.ctx, e.svc, e.biz, e.sender, e.gateway = t, ctx, svc, pr.Business.ID, &fakeSender{}, &fakeSender{}
	e.limiter = &memLimiter{paused: map[string]time.Duration{}, refuse: map[string]time.Duration{}}
	e.sender.limits = []hub.RateLimit{{Key: "telegram:bot", PerSecond: 30, Burst: 1}, {Key: "telegram:bot:42", PerSecond: 1, Burst: 1}}
	if _, err := svc.PutChannelConfig(ctx, e.biz, hub.ChannelTelegram, map[string]any{"bot_token": "123:abc", "bot_username": "cafe_bot"}); err != nil {
		t.Fatal(err)
	}
	tpl, err := svc.CreateCardTemplate(ctx, e.biz, hub.CardTemplateInput{Name: "Coffee", Goals: []hub.GoalInput{{Stamps: 5, Reward: hub.RewardInput{Title: "Cup"}}}})
	if err != nil {
		t.Fatal(err)
	}
	email := "ann@example.com"
	card, _, err := svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &email}})
	if err != nil {
		t.Fatal(err)
	}
	e.customer = card.Customer
	e.router = channels.NewRouter(channels.Config{Ledger: svc, Limiter: e.limiter, Factories: map[string]channels.Factory{
		hub.ChannelTelegram: func(*hub.ChannelConfig) (channels.Sender, error) { return e.sender, nil },
		hub.ProviderGateway: func(*hub.ChannelConfig) (channels.Sender, error) { return e.gateway, nil },
	}})
	return e
}

// linkTelegram links chat 42 to the customer through a one-time token.
func (e *env) linkTelegram() {
	e.t.Helper()
	link, err := e.svc.CreateLink(e.ctx, e.biz, e.customer.ID, hub.ChannelTelegram)
	if err != nil {
		e.t.Fatal(err)
	}
	if link.URL == nil || *link.URL != "https://t.me/cafe_bot?start="+link.Token {
		e.t.Fatalf("link url = %v", link.URL)
	}
	if err := e.svc.ApplyInbound(e.ctx, e.biz, []hub.Inbound{{Type: hub.InboundLink, Channel: hub.ChannelTelegram, Address: "42", Token: link.Token}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) queue(source string) hub.DeliveryKey {
	e.t.Helper()
	d, _, err := e.svc.QueueMessage(e.ctx, hub.MessageRequest{BusinessID: e.biz, Source: source, CustomerID: e.customer.ID,
		Channel: hub.ChannelTelegram, Content: hub.MessageContent{Text: "Hello <b>"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return hub.DeliveryKey{BusinessID: e.biz, ID: d.ID}
}

func (e *env) status(k hub.DeliveryKey) *hub.Delivery {
	e.t.Helper()
	d, err := e.svc.DeliveryByID(e.ctx, e.biz, k.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func TestDeliverSendsOnceAndRecords(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		k := e.queue("campaign:1")
		if again := e.queue("campaign:1"); again != k {
			t.Fatalf("queueing the same source twice made two deliveries: %v %v", k, again)
		}
		for i := 0; i < 3; i++ { // asynq may run a task more than once
			if err := e.router.Deliver(e.ctx, k, false); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.sender.calls(); n != 1 {
			t.Fatalf("sent %d times, want 1", n)
		}
		d := e.status(k)
		if d.Status != hub.DeliverySent || d.ProviderMessageID != "pm-"+k.ID || d.Attempts != 1 || d.Provider != "telegram" {
			t.Errorf("delivery = %+v", d)
		}
		m := e.sender.sent[0]
		if m.To != "42" || m.Text != "Hello <b>" || m.DeliveryID != k.ID {
			t.Errorf("message = %+v", m)
		}
		if diff := cmp.Diff([]string{"telegram:bot:42", "telegram:bot"}, e.limiter.taken); diff != "" {
			t.Errorf("limits taken (-want +got), the chat's first:\n%s", diff)
		}
	})
}

func TestDeliverOutcomes(t *testing.T) {
	transient := &hub.SendError{Kind: hub.SendTransient, Reason: "provider_down"}
	tests := []struct {
		name          string
		err           error
		final         bool
		wantStatus    string
		wantRetry     bool
		wantNotFail   bool
		wantReachable bool
		wantPause     string
	}{
		{name: "transient retries", err: transient, wantStatus: hub.DeliveryPending, wantRetry: true, wantReachable: true},
		{name: "transient on the last attempt fails", err: transient, final: true, wantStatus: hub.DeliveryFailed, wantReachable: true},
		{name: "maybe sent is unknown, never resent", err: &hub.SendError{Kind: hub.SendTransient, Reason: "timeout", MaybeSent: true},
			wantStatus: hub.DeliveryUnknown, wantReachable: true},
		{name: "blocked fails and marks unreachable", err: &hub.SendError{Kind: hub.SendPermanent, Reason: "blocked", Code: "403", Unreachable: true},
			wantStatus: hub.DeliveryFailed},
		{name: "permanent config error keeps the contact", err: &hub.SendError{Kind: hub.SendPermanent, Reason: "config", Code: "401"},
			wantStatus: hub.DeliveryFailed, wantReachable: true},
		{name: "rate limit pauses the bot and is no failure", err: &hub.SendError{Kind: hub.SendRateLimited, RetryAfter: 5 * time.Second, Scope: hub.ScopeSender},
			wantStatus: hub.DeliveryPending, wantRetry: true, wantNotFail: true, wantReachable: true, wantPause: "telegram:bot"},
		{name: "per-chat rate limit pauses the chat", err: &hub.SendError{Kind: hub.SendRateLimited, RetryAfter: time.Second, Scope: hub.ScopeRecipient},
			wantStatus: hub.DeliveryPending, wantRetry: true, wantNotFail: true, wantReachable: true, wantPause: "telegram:bot:42"},
	}
	// Deliver and a batch of one through DeliverBatch must decide alike.
	ways := map[string]func(e *env, k hub.DeliveryKey, final bool) error{
		"one": func(e *env, k hub.DeliveryKey, final bool) error { return e.router.Deliver(e.ctx, k, final) },
		"batch": func(e *env, k hub.DeliveryKey, final bool) error {
			res, err := e.router.DeliverBatch(e.ctx, []hub.DeliveryKey{k}, final, 4)
			if err != nil {
				e.t.Fatal(err)
			}
			return res[0]
		},
	}
	for _, tt := range tests {
		for way, deliver := range ways {
			t.Run(tt.name+"/"+way, func(t *testing.T) {
				sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
					e := newEnv(t, st)
					e.linkTelegram()
					e.sender.answer = func(hub.Message) (hub.Receipt, error) { return hub.Receipt{}, tt.err }
					k := e.queue("c:1")
					err := deliver(e, k, tt.final)
					var re *channels.RetryError
					if got := errors.As(err, &re); got != tt.wantRetry {
						t.Fatalf("Deliver error = %v, want retry %v", err, tt.wantRetry)
					}
					if re != nil && re.NotFailure() != tt.wantNotFail {
						t.Errorf("NotFailure = %v, want %v", re.NotFailure(), tt.wantNotFail)
					}
					d := e.status(k)
					if d.Status != tt.wantStatus {
						t.Errorf("status = %s (%s), want %s", d.Status, d.Error, tt.wantStatus)
					}
					if tt.wantNotFail && d.Attempts != 0 {
						t.Errorf("a rate-limited try counted as attempt %d", d.Attempts)
					}
					cust, err := e.svc.CustomerWithContacts(e.ctx, e.biz, e.customer.ID)
					if err != nil {
						t.Fatal(err)
					}
					if len(cust.Contacts) != 1 || cust.Contacts[0].Reachable != tt.wantReachable {
						t.Errorf("contacts = %+v, want reachable %v", cust.Contacts, tt.wantReachable)
					}
					if tt.wantPause != "" && e.limiter.paused[tt.wantPause] == 0 {
						t.Errorf("paused = %v, want %s", e.limiter.paused, tt.wantPause)
					}
					if tt.wantStatus != hub.DeliveryPending {
						// Settled: running the task again sends nothing.
						if err := e.router.Deliver(e.ctx, k, false); err != nil {
							t.Fatal(err)
						}
						if e.sender.calls() != 1 {
							t.Errorf("a settled delivery was sent again (%d calls)", e.sender.calls())
						}
					}
				})
			})
		}
	}
}

// TestDeliverBatch sends a chunk with every kind of member at once: new
// ones, one already sent, one another worker is sending, one that does
// not exist and one the ledger fails before sending. One send per
// deliverable member, and each answer is Deliver's.
func TestDeliverBatch(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		fresh := []hub.DeliveryKey{e.queue("c:1"), e.queue("c:2"), e.queue("c:3")}
		done := e.queue("c:4")
		if err := e.router.Deliver(e.ctx, done, false); err != nil {
			t.Fatal(err)
		}
		busy := e.queue("c:5")
		if _, err := e.svc.ClaimSend(e.ctx, busy); err != nil { // another worker holds it
			t.Fatal(err)
		}
		missing := hub.DeliveryKey{BusinessID: e.biz, ID: "dlv_01M8WPXJ02F9659HXZ3MJD09V3"}
		other, _, err := e.svc.QueueMessage(e.ctx, hub.MessageRequest{BusinessID: e.biz, Source: "c:6", CustomerID: e.customer.ID,
			Channel: hub.ChannelEmail, Content: hub.MessageContent{Subject: "Hi", Text: "Hi"}})
		if err != nil {
			t.Fatal(err)
		}
		noEmail := hub.DeliveryKey{BusinessID: e.biz, ID: other.ID} // no consent for email
		keys := append([]hub.DeliveryKey{busy, missing, done, noEmail}, fresh...)
		calls := e.sender.calls()

		res, err := e.router.DeliverBatch(e.ctx, keys, false, 2)
		if err != nil {
			t.Fatal(err)
		}
		var re *channels.RetryError
		if !errors.As(res[0], &re) || !re.NotFailure() || !errors.Is(res[0], hub.ErrInFlight) {
			t.Errorf("in flight: %v, want a retry that is not a failure", res[0])
		}
		if hub.ErrorCode(res[1]) != hub.ENotFound {
			t.Errorf("missing: %v, want not found", res[1])
		}
		for i, r := range res[2:] {
			if r != nil {
				t.Errorf("result %d = %v, want settled", i+2, r)
			}
		}
		if got := e.sender.calls() - calls; got != len(fresh) {
			t.Errorf("sent %d, want %d (one per new delivery)", got, len(fresh))
		}
		for _, k := range fresh {
			if d := e.status(k); d.Status != hub.DeliverySent || d.ProviderMessageID != "pm-"+k.ID || d.Attempts != 1 {
				t.Errorf("%s = %+v, want sent once", k.ID, d)
			}
		}
		if d := e.status(noEmail); d.Status != hub.DeliveryFailed || d.Error != hub.ReasonNoConsent {
			t.Errorf("no email consent: %+v", d)
		}
		if d := e.status(busy); d.Status != hub.DeliverySending {
			t.Errorf("in flight elsewhere: %+v, want left sending", d)
		}

		// The same chunk again (asynq may run a task twice) sends nothing more.
		if _, err := e.router.DeliverBatch(e.ctx, keys, false, 2); err != nil {
			t.Fatal(err)
		}
		if got := e.sender.calls() - calls; got != len(fresh) {
			t.Errorf("after a rerun sent %d, want %d", got, len(fresh))
		}
	})
}

// TestDeliverBatchClaimsNoMoreThanItSends: while a message is with the
// provider, at most parallel deliveries are claimed (sending), so a crash
// leaves at most that many unknown.
func TestDeliverBatchClaimsNoMoreThanItSends(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		var keys []hub.DeliveryKey
		for i := 0; i < 7; i++ {
			keys = append(keys, e.queue(fmt.Sprintf("c:%d", i)))
		}
		var most int
		e.sender.answer = func(hub.Message) (hub.Receipt, error) {
			sending := 0
			for _, k := range keys {
				if e.status(k).Status == hub.DeliverySending {
					sending++
				}
			}
			most = max(most, sending)
			return hub.Receipt{ProviderMessageID: "pm"}, nil
		}
		res, err := e.router.DeliverBatch(e.ctx, keys, false, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r != nil || e.status(keys[i]).Status != hub.DeliverySent {
				t.Errorf("delivery %d: %v, %s", i, r, e.status(keys[i]).Status)
			}
		}
		if most == 0 || most > 3 {
			t.Errorf("at most %d deliveries were sending at once, want 1 to 3", most)
		}
	})
}

// TestDeliverBatchLimiterRefuses hands a chunk back when our own limiter
// has no slot soon: nothing sent, nothing paused, no attempt spent.
func TestDeliverBatchLimiterRefuses(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		e.limiter.refuse["telegram:bot:42"] = time.Minute
		keys := []hub.DeliveryKey{e.queue("c:1"), e.queue("c:2")}
		res, err := e.router.DeliverBatch(e.ctx, keys, true, 2)
		if err != nil {
			t.Fatal(err)
		}
		e.refusedBack(keys, res)
		if e.sender.calls() != 0 || len(e.limiter.paused) != 0 {
			t.Errorf("sent %d, paused %v; want nothing", e.sender.calls(), e.limiter.paused)
		}
	})
}

func TestUnreachableContactIsNotTriedAgain(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		e.sender.answer = func(hub.Message) (hub.Receipt, error) {
			return hub.Receipt{}, &hub.SendError{Kind: hub.SendPermanent, Reason: "blocked", Unreachable: true}
		}
		if err := e.router.Deliver(e.ctx, e.queue("c:1"), false); err != nil {
			t.Fatal(err)
		}
		k := e.queue("c:2")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliveryFailed || d.Error != hub.ReasonUnreachable || e.sender.calls() != 1 {
			t.Errorf("second message: %+v after %d sends; want failed unreachable without a send", d, e.sender.calls())
		}
		// Linking again (the customer unblocked the bot and pressed Start) makes it reachable.
		e.linkTelegram()
		e.sender.answer = nil
		k = e.queue("c:3")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliverySent {
			t.Errorf("after relinking: %+v", d)
		}
	})
}

func TestDyingMidSendNeverSendsAgain(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		k := e.queue("c:1")
		// A worker claims the delivery and dies before recording the answer.
		if out, err := e.svc.ClaimSend(e.ctx, k); err != nil || out == nil {
			t.Fatalf("claim: %v %v", out, err)
		}
		// Another task at once (a relayed copy) leaves it to the first one.
		var retry *channels.RetryError
		if err := e.router.Deliver(e.ctx, k, false); !errors.As(err, &retry) || retry.After != hub.SendingStaleAfter || !retry.NotFailure() {
			t.Fatalf("deliver while another sends: %v, want a retry after %s", err, hub.SendingStaleAfter)
		}
		if d := e.status(k); d.Status != hub.DeliverySending || e.sender.calls() != 0 {
			t.Fatalf("while in flight: %+v, %d sends", d, e.sender.calls())
		}
		// Past the longest send, the attempt is taken for dead.
		e.skew.Store(int64(hub.SendingStaleAfter + time.Second))
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliveryUnknown || e.sender.calls() != 0 {
			t.Errorf("after the retry: %+v, %d sends; want unknown and no send", d, e.sender.calls())
		}
	})
}

// TestRelaySettlesADeliveryLeftSending: the task that claimed a delivery
// died and is gone for good (archived, or lost with Redis). The delivery
// relay finds it sending past SendingStaleAfter and hands it on; its send
// task records it unknown without sending.
func TestRelaySettlesADeliveryLeftSending(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		k := e.queue("c:1")
		if out, err := e.svc.ClaimSend(e.ctx, k); err != nil || out == nil {
			t.Fatalf("claim: %v %v", out, err)
		}
		e.relayed.keys = nil // forget the enqueue of QueueMessage
		if _, err := e.svc.RelayStalledDeliveries(e.ctx, time.Minute, 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		if e.relayed.has(k) {
			t.Fatal("a delivery sending right now was relayed")
		}
		e.skew.Store(int64(time.Minute + hub.SendingStaleAfter + time.Second))
		if _, err := e.svc.RelayStalledDeliveries(e.ctx, time.Minute, 100, time.Minute); err != nil {
			t.Fatal(err)
		}
		if !e.relayed.has(k) {
			t.Fatal("the delivery left sending was not relayed")
		}
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliveryUnknown || e.sender.calls() != 0 {
			t.Errorf("after the relay: %+v, %d sends; want unknown and no send", d, e.sender.calls())
		}
	})
}

// TestDeliveryRelayDrainsABacklogInOneRun: more stalled deliveries than a
// batch are all relayed by one run, each once.
func TestDeliveryRelayDrainsABacklogInOneRun(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		var keys []hub.DeliveryKey
		for i := 0; i < 5; i++ {
			keys = append(keys, e.queue(fmt.Sprintf("c:%d", i)))
		}
		e.relayed.keys = nil // forget the enqueues of QueueMessage
		e.skew.Store(int64(2 * time.Minute))
		n, err := e.svc.RelayStalledDeliveries(e.ctx, time.Minute, 2, time.Minute)
		if err != nil || n != len(keys) {
			t.Fatalf("relay = %d, %v; want all %d in one run", n, err, len(keys))
		}
		if diff := cmp.Diff(keys, e.relayed.keys, cmpopts.SortSlices(func(a, b hub.DeliveryKey) bool { return a.ID < b.ID })); diff != "" {
			t.Errorf("relayed (-want +got), each once:\n%s", diff)
		}
	})
}

func TestNotSendable(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		// Not linked: no consent, no address.
		k := e.queue("c:1")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliveryFailed || d.Error != hub.ReasonNoConsent {
			t.Errorf("unlinked: %+v", d)
		}
		e.linkTelegram()
		// The customer sends /stop: consent withdrawn.
		if err := e.svc.ApplyInbound(e.ctx, e.biz, []hub.Inbound{{Type: hub.InboundStop, Channel: hub.ChannelTelegram, Address: "42"}}); err != nil {
			t.Fatal(err)
		}
		k = e.queue("c:2")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Status != hub.DeliveryFailed || d.Error != hub.ReasonNoConsent || e.sender.calls() != 0 {
			t.Errorf("after /stop: %+v", d)
		}
	})
}

func TestGatewayCarriesItsChannels(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		if _, err := e.svc.PutChannelConfig(e.ctx, e.biz, hub.ProviderGateway, map[string]any{
			"url": "https://gw.test", "secret": "s3cret", "channels": "telegram"}); err != nil {
			t.Fatal(err)
		}
		k := e.queue("c:1")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		if d := e.status(k); d.Provider != hub.ProviderGateway || e.gateway.calls() != 1 || e.sender.calls() != 0 {
			t.Errorf("delivery %+v; gateway %d, direct %d sends", d, e.gateway.calls(), e.sender.calls())
		}
	})
}

func TestLimitRefusalGoesBackToTheQueue(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		e.limiter.refuse["telegram:bot:42"] = 10 * time.Second // longer than MaxWait
		k := e.queue("c:1")
		err := e.router.Deliver(e.ctx, k, false)
		var re *channels.RetryError
		if !errors.As(err, &re) || !re.NotFailure() || re.RetryIn() != 10*time.Second {
			t.Fatalf("Deliver = %v, want a rate-limited retry in 10s", err)
		}
		if d := e.status(k); d.Status != hub.DeliveryPending || e.sender.calls() != 0 {
			t.Errorf("delivery %+v after a refused limit", d)
		}
	})
}

// closingSender is a fakeSender that records Close.
type closingSender struct {
	fakeSender
	closed int
}

func (c *closingSender) Close() { c.closed++ }

func TestChangedConfigurationClosesTheReplacedSender(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		var built []*closingSender
		e.router = channels.NewRouter(channels.Config{Ledger: e.svc, Limiter: e.limiter, Factories: map[string]channels.Factory{
			hub.ChannelTelegram: func(*hub.ChannelConfig) (channels.Sender, error) {
				s := &closingSender{}
				built = append(built, s)
				return s, nil
			},
		}})
		deliver := func(source string) {
			t.Helper()
			if err := e.router.Deliver(e.ctx, e.queue(source), false); err != nil {
				t.Fatal(err)
			}
		}
		closed := func() []int {
			out := make([]int, len(built))
			for i, s := range built {
				out[i] = s.closed
			}
			return out
		}

		deliver("campaign:1")
		deliver("campaign:2")
		if diff := cmp.Diff([]int{0}, closed()); diff != "" {
			t.Fatalf("one configuration, one sender, none closed (-want +got):\n%s", diff)
		}
		time.Sleep(5 * time.Millisecond) // a new updated_at
		if _, err := e.svc.PutChannelConfig(e.ctx, e.biz, hub.ChannelTelegram, map[string]any{"bot_token": "123:xyz", "bot_username": "cafe_bot"}); err != nil {
			t.Fatal(err)
		}
		deliver("campaign:3")
		deliver("campaign:4")
		if diff := cmp.Diff([]int{1, 0}, closed()); diff != "" {
			t.Fatalf("a changed configuration builds a new sender and closes the old one once (-want +got):\n%s", diff)
		}
		if n := built[1].calls(); n != 2 {
			t.Errorf("the new sender sent %d messages, want 2", n)
		}
	})
}

func TestStatusFindsItsDeliveryByDeliveryID(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		k := e.queue("campaign:1")
		if err := e.router.Deliver(e.ctx, k, false); err != nil {
			t.Fatal(err)
		}
		other, err := e.svc.EnsureKey(e.ctx, "Other shop", "bob", nil)
		if err != nil {
			t.Fatal(err)
		}
		otherPr, err := e.svc.Authenticate(e.ctx, other.Key)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name     string
			business string
			in       hub.Inbound
			want     string
		}{
			{"by delivery id alone", e.biz, hub.Inbound{DeliveryID: k.ID, Status: hub.ProviderDelivered}, hub.ProviderDelivered},
			{"unknown delivery id falls back to the message id", e.biz,
				hub.Inbound{DeliveryID: "dlv_unknown", ProviderMessageID: "pm-" + k.ID, Status: hub.ProviderRead}, hub.ProviderRead},
			{"another business's callback changes nothing", otherPr.Business.ID,
				hub.Inbound{DeliveryID: k.ID, Status: hub.ProviderFailed}, hub.ProviderRead},
			{"unknown delivery id without a message id changes nothing", e.biz,
				hub.Inbound{DeliveryID: "dlv_unknown", Status: hub.ProviderFailed}, hub.ProviderRead},
		}
		for _, s := range steps {
			s.in.Type, s.in.Channel = hub.InboundStatus, hub.ChannelTelegram
			if err := e.svc.ApplyInbound(e.ctx, s.business, []hub.Inbound{s.in}); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if d := e.status(k); d.ProviderStatus != s.want || d.Status != hub.DeliverySent {
				t.Errorf("%s: delivery %s/%s, want sent/%s", s.name, d.Status, d.ProviderStatus, s.want)
			}
		}
	})
}

// batchLimiter is memLimiter with TakeEach; it counts the calls of each.
type batchLimiter struct {
	*memLimiter
	takes, batches atomic.Int32
}

func (b *batchLimiter) Take(ctx context.Context, limits []hub.RateLimit, maxWait time.Duration) (time.Duration, bool, error) {
	b.takes.Add(1)
	return b.memLimiter.Take(ctx, limits, maxWait)
}

func (b *batchLimiter) TakeEach(ctx context.Context, limits [][]hub.RateLimit, maxWait time.Duration) ([]time.Duration, []bool, error) {
	b.batches.Add(1)
	waits, oks := make([]time.Duration, len(limits)), make([]bool, len(limits))
	for i, l := range limits {
		var err error
		if waits[i], oks[i], err = b.memLimiter.Take(ctx, l, maxWait); err != nil {
			return nil, nil, err
		}
	}
	return waits, oks, nil
}

// TestDeliverBatchTakesAGroupsSlotsInOneCall: with a BatchLimiter a group
// asks for its messages' slots in one call, and a message refused there
// goes back to pending with no attempt spent while the others are sent.
func TestDeliverBatchTakesAGroupsSlotsInOneCall(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		bl := &batchLimiter{memLimiter: e.limiter}
		e.router = channels.NewRouter(channels.Config{Ledger: e.svc, Limiter: bl, Factories: map[string]channels.Factory{
			hub.ChannelTelegram: func(*hub.ChannelConfig) (channels.Sender, error) { return e.sender, nil },
		}})
		keys := []hub.DeliveryKey{e.queue("c:1"), e.queue("c:2"), e.queue("c:3")}
		res, err := e.router.DeliverBatch(e.ctx, keys, false, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r != nil || e.status(keys[i]).Status != hub.DeliverySent {
				t.Errorf("delivery %d: %v, %s; want sent", i, r, e.status(keys[i]).Status)
			}
		}
		if bl.batches.Load() != 1 || bl.takes.Load() != 0 {
			t.Errorf("%d TakeEach and %d Take calls for one group, want 1 and 0", bl.batches.Load(), bl.takes.Load())
		}

		// The chat's budget refuses: every message of the next group goes
		// back, none sent, no attempt spent.
		e.limiter.refuse["telegram:bot:42"] = time.Minute
		more := []hub.DeliveryKey{e.queue("c:4"), e.queue("c:5")}
		calls := e.sender.calls()
		res, err = e.router.DeliverBatch(e.ctx, more, false, 2)
		if err != nil {
			t.Fatal(err)
		}
		e.refusedBack(more, res)
		if e.sender.calls() != calls || bl.batches.Load() != 2 {
			t.Errorf("sent %d more, %d TakeEach calls; want none more and 2", e.sender.calls()-calls, bl.batches.Load())
		}
	})
}

// refusedBack checks that a refused group's deliveries went back: each
// result a retry in a minute that is not a failure, each delivery pending
// with no attempt spent.
func (e *env) refusedBack(keys []hub.DeliveryKey, res []error) {
	e.t.Helper()
	for i, r := range res {
		var re *channels.RetryError
		if !errors.As(r, &re) || !re.NotFailure() || re.After != time.Minute {
			e.t.Errorf("result %d = %v, want a retry in 1m that is not a failure", i, r)
		}
		if d := e.status(keys[i]); d.Status != hub.DeliveryPending || d.Attempts != 0 {
			e.t.Errorf("delivery %d = %+v, want pending with no attempt", i, d)
		}
	}
}

// callLedger counts the ledger's batch calls.
type callLedger struct {
	channels.Ledger
	mu    sync.Mutex
	calls map[string]int
}

func (l *callLedger) count(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[name]++
}

func (l *callLedger) ClaimSends(ctx context.Context, keys []hub.DeliveryKey) ([]hub.Claim, error) {
	l.count("ClaimSends")
	return l.Ledger.ClaimSends(ctx, keys)
}

func (l *callLedger) FinishSends(ctx context.Context, sent []hub.Sent, final bool) ([]hub.SendOutcome, error) {
	l.count("FinishSends")
	return l.Ledger.FinishSends(ctx, sent, final)
}

func (l *callLedger) FinishAndClaim(ctx context.Context, sent []hub.Sent, final bool, next []hub.DeliveryKey) ([]hub.SendOutcome, []hub.Claim, error) {
	l.count("FinishAndClaim")
	return l.Ledger.FinishAndClaim(ctx, sent, final, next)
}

// TestDeliverBatchRecordsAndClaimsTogether: a group's answers are recorded
// in the transaction that claims the next group, so a batch of g groups
// costs g+1 ledger transactions, not 2g; a group with nothing sent (all
// final already) only claims the next.
func TestDeliverBatchRecordsAndClaimsTogether(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		e := newEnv(t, st)
		e.linkTelegram()
		l := &callLedger{Ledger: e.svc, calls: map[string]int{}}
		e.router = channels.NewRouter(channels.Config{Ledger: l, Limiter: e.limiter, Factories: map[string]channels.Factory{
			hub.ChannelTelegram: func(*hub.ChannelConfig) (channels.Sender, error) { return e.sender, nil },
		}})
		var keys []hub.DeliveryKey
		for i := range 7 {
			keys = append(keys, e.queue(fmt.Sprintf("c:%d", i)))
		}
		tests := []struct {
			name      string
			want      map[string]int
			wantCalls int // provider calls in all
		}{
			{"fresh", map[string]int{"ClaimSends": 1, "FinishAndClaim": 2, "FinishSends": 1}, 7},
			{"again: all final", map[string]int{"ClaimSends": 3}, 7},
		}
		for _, tt := range tests {
			l.calls = map[string]int{}
			res, err := e.router.DeliverBatch(e.ctx, keys, false, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r != nil || e.status(keys[i]).Status != hub.DeliverySent {
					t.Errorf("%s: delivery %d: %v, %s", tt.name, i, r, e.status(keys[i]).Status)
				}
			}
			if d := cmp.Diff(tt.want, l.calls); d != "" {
				t.Errorf("%s: ledger calls (-want +got):\n%s", tt.name, d)
			}
			if e.sender.calls() != tt.wantCalls {
				t.Errorf("%s: %d provider calls, want %d", tt.name, e.sender.calls(), tt.wantCalls)
			}
		}
	})
}
