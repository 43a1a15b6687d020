package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/hub"
)

// recorder is a test receiver that keeps what it received and answers with
// status, extra headers and body.
type recorder struct {
	status int
	header http.Header
	body   []byte

	got chan received
}

type received struct {
	method string
	header http.Header
	body   []byte
}

func newRecorder(status int, body []byte) *recorder {
	return &recorder{status: status, header: http.Header{}, body: body, got: make(chan received, 10)}
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.got <- received{r.Method, r.Header.Clone(), body}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body)
}

func TestDeliver(t *testing.T) {
	rec := newRecorder(http.StatusAccepted, []byte(`{"ok":true}`))
	ts := newServer(t, rec)
	body := []byte("{\"type\": \"card.stamped\",\t\"name\": \"Café ☕\"}\r\n  ")
	h, err := Headers([]string{specSecret}, "evt_01HX", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}

	a := Deliver(context.Background(), NewClient(Options{AllowCIDRs: loopback}), ts.URL+"/hook?k=v", h, body)
	if a.Err != nil || a.StatusCode != http.StatusAccepted {
		t.Fatalf("Deliver() = status %d, err %v; want 202", a.StatusCode, a.Err)
	}
	if string(a.ResponseBody) != `{"ok":true}` || a.Duration <= 0 || a.RetryAfter != "" {
		t.Errorf("Deliver() = %+v", a)
	}
	got := <-rec.got
	if got.method != http.MethodPost || !bytes.Equal(got.body, body) {
		t.Errorf("received %s %q, want POST %q", got.method, got.body, body)
	}
	for _, k := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "Content-Type"} {
		if got.header.Get(k) != h.Get(k) {
			t.Errorf("received %s = %q, want %q", k, got.header.Get(k), h.Get(k))
		}
	}
	if err := Verify(specSecret, got.header, got.body, 0, time.Now()); err != nil {
		t.Errorf("the received delivery does not verify: %v", err)
	}
	if got.header.Get("User-Agent") != DefaultUserAgent {
		t.Errorf("User-Agent = %q", got.header.Get("User-Agent"))
	}
	if h.Get("User-Agent") != "" {
		t.Error("Deliver changed the caller's headers")
	}
}

func TestDeliverDefaultContentType(t *testing.T) {
	rec := newRecorder(http.StatusOK, nil)
	ts := newServer(t, rec)
	a := Deliver(context.Background(), NewClient(Options{AllowCIDRs: loopback}), ts.URL, nil, []byte(`{}`))
	if a.Err != nil || a.StatusCode != http.StatusOK {
		t.Fatalf("Deliver() = %+v", a)
	}
	if ct := (<-rec.got).header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}

func TestDeliverResponseBodyLimit(t *testing.T) {
	for _, size := range []int{MaxResponseBody - 1, MaxResponseBody, MaxResponseBody + 1, 10 << 10, 2 << 20} {
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
		ts := newServer(t, newRecorder(http.StatusInternalServerError, body))
		a := Deliver(context.Background(), NewClient(Options{AllowCIDRs: loopback}), ts.URL, nil, nil)
		if a.Err != nil || a.StatusCode != 500 {
			t.Fatalf("%d-byte response: %+v", size, a.Err)
		}
		want := body[:min(size, MaxResponseBody)]
		if !bytes.Equal(a.ResponseBody, want) {
			t.Errorf("%d-byte response: kept %d bytes, want the first %d", size, len(a.ResponseBody), len(want))
		}
	}
}

func TestDeliverRetryAfter(t *testing.T) {
	rec := newRecorder(http.StatusTooManyRequests, []byte("slow down"))
	rec.header.Set("Retry-After", "30")
	ts := newServer(t, rec)
	a := Deliver(context.Background(), NewClient(Options{AllowCIDRs: loopback}), ts.URL, nil, nil)
	if a.StatusCode != 429 || a.RetryAfter != "30" || string(a.ResponseBody) != "slow down" {
		t.Fatalf("Deliver() = %+v", a)
	}
	if o, d := Decide(2, a.StatusCode, a.RetryAfter, a.Err, time.Now(), noJitter); o != hub.AttemptRetry || d != time.Minute {
		t.Errorf("Decide(after 429, hub.AttemptRetry-After 30) = %v, %v; want retry, 1m", o, d)
	}
}

func TestDeliverNeverFollowsRedirects(t *testing.T) {
	var target hitCounter
	mux := http.NewServeMux()
	mux.Handle("/target", &target)
	mux.Handle("/hook", http.RedirectHandler("/target", http.StatusTemporaryRedirect))
	ts := newServer(t, mux)

	// ts.Client() follows redirects; Deliver must not.
	a := Deliver(context.Background(), ts.Client(), ts.URL+"/hook", nil, []byte(`{}`))
	if a.Err != nil || a.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("Deliver() = status %d, err %v; want 307", a.StatusCode, a.Err)
	}
	if n := target.hits.Load(); n != 0 {
		t.Errorf("the redirect was followed (%d hits)", n)
	}
	if ts.Client().CheckRedirect != nil {
		t.Error("Deliver changed the caller's client")
	}
}

func TestDeliverErrors(t *testing.T) {
	allowed := NewClient(Options{AllowCIDRs: loopback})

	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // then the server notices the client hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	hangUp := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + l.Addr().String()
	l.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		client  *http.Client
		url     string
		wantMsg string
		wantIs  error
	}{
		{"forbidden", context.Background(), NewClient(Options{}), slow.URL, "forbidden address: 127.0.0.1 is in 127.0.0.0/8 (loopback)", ErrForbiddenAddress},
		{"timeout", context.Background(), NewClient(Options{AllowCIDRs: loopback, Timeout: 100 * time.Millisecond}), slow.URL, "timeout: no response in time", nil},
		{"refused", context.Background(), allowed, closedURL, "connection refused", nil},
		{"hang-up", context.Background(), allowed, hangUp.URL, "connection closed before a response arrived", nil},
		{"canceled", canceled, allowed, slow.URL, "canceled before a response arrived", context.Canceled},
		{"unknown host", context.Background(), NewClient(Options{Resolver: lookupErr(true)}), "http://no-such-host.example/", "host no-such-host.example not found", nil},
		{"DNS failure", context.Background(), NewClient(Options{Resolver: lookupErr(false)}), "http://flaky.example/", "DNS lookup of flaky.example failed", nil},
		{"bad URL", context.Background(), allowed, "http://[::1", "invalid target URL", nil},
		{"no client", context.Background(), nil, slow.URL, "no HTTP client", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Deliver(tt.ctx, tt.client, tt.url, nil, []byte(`{}`))
			if a.Err == nil || a.StatusCode != 0 {
				t.Fatalf("Deliver() = status %d, err %v; want an error", a.StatusCode, a.Err)
			}
			if got := a.Err.Error(); got != tt.wantMsg {
				t.Errorf("Err = %q, want %q (cause: %v)", got, tt.wantMsg, errors.Unwrap(a.Err))
			}
			if tt.wantIs != nil && !errors.Is(a.Err, tt.wantIs) {
				t.Errorf("Err = %v, does not wrap %v", a.Err, tt.wantIs)
			}
			if strings.Contains(a.Err.Error(), "->") {
				t.Errorf("Err %q shows a local address", a.Err)
			}
			if o, _ := Decide(1, a.StatusCode, a.RetryAfter, a.Err, time.Now(), noJitter); o != hub.AttemptRetry {
				t.Errorf("Decide() = %v, want retry", o)
			}
		})
	}
}

// lookupErr is a Resolver that fails: "no such host" when notFound, else a
// DNS timeout.
type lookupErr bool

func (notFound lookupErr) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if notFound {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
}
