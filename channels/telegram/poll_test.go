package telegram_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/hub"
)

// recorder is a Poll handler that fails its first failFirst calls.
type recorder struct {
	mu        sync.Mutex
	failFirst int
	calls     [][]hub.Inbound
	got       chan struct{}
}

func newRecorder(failFirst int) *recorder {
	return &recorder{failFirst: failFirst, got: make(chan struct{}, 100)}
}

func (r *recorder) handle(_ context.Context, events []hub.Inbound) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, events)
	r.got <- struct{}{}
	if len(r.calls) <= r.failFirst {
		return errors.New("database down")
	}
	return nil
}

func (r *recorder) wait(t *testing.T, n int) [][]hub.Inbound {
	t.Helper()
	for {
		r.mu.Lock()
		calls := append([][]hub.Inbound(nil), r.calls...)
		r.mu.Unlock()
		if len(calls) >= n {
			return calls
		}
		select {
		case <-r.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("handler called %d times, want %d", len(calls), n)
		}
	}
}

// poll runs Poll until the test ends and returns its result channel.
func poll(t *testing.T, s *telegram.Sender, h func(context.Context, []hub.Inbound) error) (context.CancelFunc, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- s.Poll(ctx, h)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(5 * time.Second):
			t.Error("Poll did not return after the context ended")
		}
	})
	return cancel, done
}

func TestPollAdvancesOnlyAfterHandled(t *testing.T) {
	s, fake := fixture(t, telegram.Options{PollTimeout: time.Second, PollBackoff: 10 * time.Millisecond})
	fake.QueueUpdate(token, telegramfake.TextUpdate(42, "Ann", "Lee", "/start tok_1", at))
	fake.QueueUpdate(token, telegramfake.TextUpdate(43, "Bob", "", "hi", at))
	rec := newRecorder(1)
	poll(t, s, rec.handle)

	first := []hub.Inbound{
		{Type: hub.InboundLink, Channel: hub.ChannelTelegram, Address: "42", Token: "tok_1", Name: "Ann Lee", At: at},
		{Type: hub.InboundMessage, Channel: hub.ChannelTelegram, Address: "43", Name: "Bob", At: at},
	}
	calls := rec.wait(t, 2)
	if diff := cmp.Diff([][]hub.Inbound{first, first}, calls[:2]); diff != "" {
		t.Fatalf("a failed batch must be handled again (-want +got):\n%s", diff)
	}
	fake.QueueUpdate(token, telegramfake.MyChatMemberUpdate(42, "Ann", "member", "kicked", at))
	calls = rec.wait(t, 3)
	want := []hub.Inbound{{Type: hub.InboundStop, Channel: hub.ChannelTelegram, Address: "42", Name: "Ann", At: at}}
	if diff := cmp.Diff(want, calls[2]); diff != "" {
		t.Errorf("after a handled batch only new updates come (-want +got):\n%s", diff)
	}
}

func TestPollDeletesWebhook(t *testing.T) {
	s, fake := fixture(t, telegram.Options{PollTimeout: time.Second, PollBackoff: 10 * time.Millisecond})
	if err := s.SetWebhook(context.Background(), "https://hub.example/hook"); err != nil {
		t.Fatal(err)
	}
	fake.QueueUpdate(token, telegramfake.TextUpdate(42, "Ann", "", "hi", at))
	rec := newRecorder(0)
	poll(t, s, rec.handle)
	rec.wait(t, 1)
	if w := fake.Webhook(token); w != nil {
		t.Errorf("webhook still set: %+v", w)
	}
}

func TestPollRetriesProviderErrors(t *testing.T) {
	s, fake := fixture(t, telegram.Options{PollTimeout: time.Second, PollBackoff: 10 * time.Millisecond})
	fake.FailNext(2, 502, "Bad Gateway")
	fake.QueueUpdate(token, telegramfake.TextUpdate(42, "Ann", "", "hi", at))
	rec := newRecorder(0)
	poll(t, s, rec.handle)
	rec.wait(t, 1)
	if n := fake.Calls("getUpdates"); n < 3 {
		t.Errorf("getUpdates called %d times, want at least 3", n)
	}
}

func TestPollStopsOnRefusedToken(t *testing.T) {
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	s, err := telegram.New(config(nil, nil), telegram.Options{BaseURL: fake.URL, PollTimeout: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	_, done := poll(t, s, newRecorder(0).handle)
	select {
	case err := <-done:
		if se := hub.AsSendError(err); se.Reason != "config" {
			t.Errorf("Poll = %v, want a config error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Poll kept going with a refused token")
	}
}

func TestPollReturnsWhenContextEnds(t *testing.T) {
	s, _ := fixture(t, telegram.Options{PollTimeout: 30 * time.Second})
	cancel, done := poll(t, s, newRecorder(0).handle)
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Poll = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Poll did not return")
	}
}
