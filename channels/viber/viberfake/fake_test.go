package viberfake_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/viber/viberfake"
)

const token = "fake-auth-token"

func start(t *testing.T) *viberfake.Server {
	t.Helper()
	f := viberfake.New()
	t.Cleanup(f.Close)
	f.AddAccount(token, "Bot", "bot")
	return f
}

type answer struct {
	Status        int         `json:"status"`
	StatusMessage string      `json:"status_message"`
	MessageToken  json.Number `json:"message_token"`
	EventTypes    []string    `json:"event_types"`
	Webhook       string      `json:"webhook"`
}

func post(t *testing.T, f *viberfake.Server, tok, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
	req.Header.Set(viberfake.AuthHeader, tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %d, want 200 (Viber answers errors in the body)", path, resp.StatusCode)
	}
	var a answer
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

const textTo = `{"receiver":"u1","min_api_version":1,"sender":{"name":"Bot"},"tracking_data":"dlv_1","type":"text","text":"hi"}`

func TestSendMessageStatuses(t *testing.T) {
	tests := []struct {
		name   string
		tok    string
		body   string
		script func(*viberfake.Server)
		want   int
		msg    string
	}{
		{"accepted", token, textTo, nil, 0, "ok"},
		{"wrong token", "nope", textTo, nil, 2, "invalidAuthToken"},
		{"not JSON", token, `{`, nil, 3, "badData"},
		{"no receiver", token, `{"sender":{"name":"Bot"},"type":"text","text":"hi"}`, nil, 4, "missingData"},
		{"no sender", token, `{"receiver":"u1","type":"text","text":"hi"}`, nil, 4, "missingData"},
		{"empty text", token, `{"receiver":"u1","sender":{"name":"Bot"},"type":"text","text":""}`, nil, 4, "missingData"},
		{"sender name too long", token, `{"receiver":"u1","sender":{"name":"` + strings.Repeat("n", 29) + `"},"type":"text","text":"hi"}`, nil, 3, "badData"},
		{"not subscribed", token, textTo, func(f *viberfake.Server) { f.SetReceiverStatus("u1", viberfake.StatusReceiverNotSubscribed) }, 6, "notSubscribed"},
		{"status cleared", token, textTo, func(f *viberfake.Server) { f.SetReceiverStatus("u1", 5); f.SetReceiverStatus("u1", 0) }, 0, "ok"},
		{"scripted", token, textTo, func(f *viberfake.Server) { f.FailNext(1, viberfake.StatusPublicAccountSuspended) }, 9, "publicAccountSuspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			if tt.script != nil {
				tt.script(f)
			}
			a := post(t, f, tt.tok, "/pa/send_message", tt.body)
			if a.Status != tt.want || a.StatusMessage != tt.msg {
				t.Fatalf("answer %d %q, want %d %q", a.Status, a.StatusMessage, tt.want, tt.msg)
			}
			if tt.want == 0 {
				if a.MessageToken.String() != "5741311803571721087" {
					t.Errorf("message_token %s", a.MessageToken)
				}
				if len(f.Sent()) != 1 || f.Sent()[0].TrackingData != "dlv_1" {
					t.Errorf("recorded %+v", f.Sent())
				}
			} else if len(f.Sent()) != 0 {
				t.Errorf("recorded a refused message: %+v", f.Sent())
			}
		})
	}
}

func TestFailNextCountsDown(t *testing.T) {
	f := start(t)
	f.FailNext(2, viberfake.StatusTooManyRequests)
	var got []int
	for range 3 {
		got = append(got, post(t, f, token, "/pa/send_message", textTo).Status)
	}
	if diff := cmp.Diff([]int{12, 12, 0}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestFailNextHTTP(t *testing.T) {
	f := start(t)
	f.FailNextHTTP(1, http.StatusServiceUnavailable)
	req, _ := http.NewRequest(http.MethodPost, f.URL+"/pa/send_message", strings.NewReader(textTo))
	req.Header.Set(viberfake.AuthHeader, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("HTTP %d, want 503", resp.StatusCode)
	}
}

func TestOwnRateLimit(t *testing.T) {
	f := start(t)
	f.SetRateLimit(1, 2)
	var got []int
	for range 3 {
		got = append(got, post(t, f, token, "/pa/send_message", textTo).Status)
	}
	if diff := cmp.Diff([]int{0, 0, 12}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if f.RateLimited() != 1 || len(f.ReceiverTimes("u1")) != 2 || f.Calls("/pa/send_message") != 3 {
		t.Errorf("RateLimited %d, ReceiverTimes %v, Calls %d", f.RateLimited(), f.ReceiverTimes("u1"), f.Calls("/pa/send_message"))
	}
}

func TestWebhookAndAccountInfo(t *testing.T) {
	f := start(t)
	a := post(t, f, token, "/pa/set_webhook", `{"url":"https://hub.example/h","event_types":["seen"],"send_name":true}`)
	if a.Status != 0 || !cmp.Equal(a.EventTypes, []string{"seen"}) {
		t.Fatalf("set_webhook: %+v", a)
	}
	want := &viberfake.Webhook{URL: "https://hub.example/h", EventTypes: []string{"seen"}, SendName: true}
	if diff := cmp.Diff(want, f.Webhook(token)); diff != "" {
		t.Errorf("webhook (-want +got):\n%s", diff)
	}
	if info := post(t, f, token, "/pa/get_account_info", `{}`); info.Status != 0 || info.Webhook != "https://hub.example/h" {
		t.Errorf("get_account_info: %+v", info)
	}
}

func TestSignMatchesViber(t *testing.T) {
	// Computed independently: openssl dgst -sha256 -hmac <token>.
	body := []byte(`{"event":"webhook","timestamp":1457764197627,"chat_hostname":"SN-219_","message_token":241256543215}`)
	got := viberfake.Sign("445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9", body)
	if want := "5dbc6397de4838957554dc69cb5fb39f89302d13c34cc15c956ef5f027a99152"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	req := viberfake.SignedRequest("k", body)
	if http.Header(req.Header).Get(viberfake.SignatureHeader) != viberfake.Sign("k", body) || !bytes.Equal(req.Body, body) {
		t.Errorf("SignedRequest = %+v", req)
	}
}

func TestCallbackBodies(t *testing.T) {
	at := time.UnixMilli(1457764197627)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(viberfake.Delivery("seen", 5741311803571721087, "u1", "", at)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m["event"] != "seen" || m["user_id"] != "u1" || m["message_token"].(json.Number).String() != "5741311803571721087" ||
		m["timestamp"].(json.Number).String() != "1457764197627" {
		t.Errorf("delivery callback %v", m)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := start(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, f.URL+"/pa/send_message", strings.NewReader(textTo))
			req.Header.Set(viberfake.AuthHeader, token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			_ = f.Sent()
		})
	}
	wg.Wait()
	sent := f.Sent()
	if len(sent) != 20 {
		t.Fatalf("recorded %d messages, want 20", len(sent))
	}
	seen := map[int64]bool{}
	for _, m := range sent {
		if seen[m.MessageToken] {
			t.Errorf("message token %d given twice", m.MessageToken)
		}
		seen[m.MessageToken] = true
	}
}
