package telegramfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/channels/telegram/telegramfake"
)

const token = "777:fake-token"

type answer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters,omitempty"`
}

func start(t *testing.T) *telegramfake.Server {
	t.Helper()
	f := telegramfake.New()
	t.Cleanup(f.Close)
	f.AddBot(token, "fake_bot")
	return f
}

// call posts form parameters to a method and decodes the answer.
func call(t *testing.T, f *telegramfake.Server, tok, method string, params url.Values) (int, answer) {
	t.Helper()
	resp, err := http.PostForm(f.URL+"/bot"+tok+"/"+method, params)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s: decoding the answer: %v", method, err)
	}
	if a.OK != (resp.StatusCode == http.StatusOK) || (!a.OK && a.ErrorCode != resp.StatusCode) {
		t.Errorf("%s: HTTP %d with envelope %+v", method, resp.StatusCode, a)
	}
	return resp.StatusCode, a
}

func send(chat, text, mode string) url.Values {
	return url.Values{"chat_id": {chat}, "text": {text}, "parse_mode": {mode}}
}

func TestSendMessageAnswers(t *testing.T) {
	tests := []struct {
		name     string
		tok      string
		params   url.Values
		script   func(*telegramfake.Server)
		wantCode int
		wantDesc string
	}{
		{"accepted", token, send("1", "a &lt; b <b>bold</b> &#128512;", "HTML"), nil, 200, ""},
		{"wrong token", "777:other", send("1", "hi", ""), nil, 401, "Unauthorized"},
		{"unescaped <", token, send("1", "a < b", "HTML"), nil, 400, "Bad Request: can't parse entities"},
		{"unescaped &", token, send("1", "Tom & Jerry", "HTML"), nil, 400, "Bad Request: can't parse entities"},
		{"unsupported tag", token, send("1", "<script>x</script>", "HTML"), nil, 400, "Bad Request: can't parse entities"},
		{"empty text", token, send("1", "", ""), nil, 400, "Bad Request: message text is empty"},
		{"no chat", token, send("", "hi", ""), nil, 400, "Bad Request: chat_id is empty"},
		{"too long", token, send("1", strings.Repeat("x", 4097), ""), nil, 400, "Bad Request: message is too long"},
		{"blocked", token, send("9", "hi", ""), func(f *telegramfake.Server) { f.Block("9", true) }, 403, telegramfake.DescBlocked},
		{"unblocked", token, send("9", "hi", ""), func(f *telegramfake.Server) { f.Block("9", true); f.Block("9", false) }, 200, ""},
		{"unknown chat", token, send("9", "hi", ""), func(f *telegramfake.Server) { f.MarkUnknown("9") }, 400, telegramfake.DescChatNotFound},
		{"scripted failure", token, send("1", "hi", ""), func(f *telegramfake.Server) { f.FailNext(1, 500, "") }, 500, "Internal Server Error"},
		{"scripted flood", token, send("1", "hi", ""), func(f *telegramfake.Server) { f.RateLimitNext(1, 3) }, 429, "Too Many Requests: retry after 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t)
			if tt.script != nil {
				tt.script(f)
			}
			code, a := call(t, f, tt.tok, "sendMessage", tt.params)
			if code != tt.wantCode || !strings.HasPrefix(a.Description, tt.wantDesc) {
				t.Fatalf("answer %d %q, want %d %q", code, a.Description, tt.wantCode, tt.wantDesc)
			}
			if code == 200 {
				var m struct {
					MessageID int    `json:"message_id"`
					Text      string `json:"text"`
				}
				if err := json.Unmarshal(a.Result, &m); err != nil || m.MessageID == 0 {
					t.Errorf("result %s: %v", a.Result, err)
				}
				if len(f.Sent()) != 1 {
					t.Errorf("recorded %d messages, want 1", len(f.Sent()))
				}
			} else if len(f.Sent()) != 0 {
				t.Errorf("recorded a refused message: %+v", f.Sent())
			}
		})
	}
}

func TestFailNextCountsDown(t *testing.T) {
	f := start(t)
	f.FailNext(2, 502, "Bad Gateway")
	var got []int
	for range 3 {
		code, _ := call(t, f, token, "sendMessage", send("1", "hi", ""))
		got = append(got, code)
	}
	if diff := cmp.Diff([]int{502, 502, 200}, got); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
}

func TestOwnLimits(t *testing.T) {
	f := start(t)
	f.SetLimits(telegramfake.Limits{GlobalPerSecond: 1000, GlobalBurst: 10, ChatPerSecond: 1, ChatBurst: 1})
	if code, _ := call(t, f, token, "sendMessage", send("1", "one", "")); code != 200 {
		t.Fatalf("first message: %d", code)
	}
	code, a := call(t, f, token, "sendMessage", send("1", "two", ""))
	if code != 429 || a.Parameters == nil || a.Parameters.RetryAfter != 1 {
		t.Fatalf("second message to the chat: %d %+v, want 429 with retry_after 1", code, a)
	}
	if code, _ := call(t, f, token, "sendMessage", send("2", "other chat", "")); code != 200 {
		t.Errorf("message to another chat: %d", code)
	}
	if f.RateLimited() != 1 || len(f.ChatTimes("1")) != 1 || len(f.SentTo("2")) != 1 {
		t.Errorf("RateLimited %d, ChatTimes(1) %v, SentTo(2) %v", f.RateLimited(), f.ChatTimes("1"), f.SentTo("2"))
	}
	if n := f.Calls("sendMessage"); n != 3 {
		t.Errorf("Calls = %d, want 3", n)
	}
}

func TestJSONParameters(t *testing.T) {
	f := start(t)
	body := `{"chat_id":12345678901,"text":"hi","parse_mode":"HTML"}`
	resp, err := http.Post(f.URL+"/bot"+token+"/sendMessage", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := f.Sent()[0].ChatID; got != "12345678901" {
		t.Errorf("chat id %q", got)
	}
}

func TestGetUpdatesLongPollsAndConfirms(t *testing.T) {
	f := start(t)
	at := time.Unix(1_700_000_000, 0)
	go func() {
		time.Sleep(50 * time.Millisecond)
		f.QueueUpdate(token, telegramfake.TextUpdate(5, "Ann", "", "/start x", at))
	}()
	begin := time.Now()
	code, a := call(t, f, token, "getUpdates", url.Values{"timeout": {"5"}})
	if code != 200 || time.Since(begin) > 3*time.Second {
		t.Fatalf("getUpdates: %d after %v", code, time.Since(begin))
	}
	var ups []struct {
		UpdateID int64 `json:"update_id"`
		Message  struct {
			Text     string `json:"text"`
			Entities []struct {
				Type string `json:"type"`
			} `json:"entities"`
		} `json:"message"`
	}
	if err := json.Unmarshal(a.Result, &ups); err != nil || len(ups) != 1 {
		t.Fatalf("result %s: %v", a.Result, err)
	}
	if ups[0].Message.Text != "/start x" || len(ups[0].Message.Entities) != 1 || ups[0].Message.Entities[0].Type != "bot_command" {
		t.Errorf("update %+v", ups[0])
	}
	if f.PendingUpdates(token) != 1 {
		t.Errorf("unconfirmed update dropped")
	}
	call(t, f, token, "getUpdates", url.Values{"offset": {strconv.FormatInt(ups[0].UpdateID+1, 10)}})
	if n := f.PendingUpdates(token); n != 0 {
		t.Errorf("%d updates pending after confirmation", n)
	}
}

func TestGetUpdatesConflictsWithWebhook(t *testing.T) {
	f := start(t)
	if code, _ := call(t, f, token, "setWebhook", url.Values{"url": {"https://x.example/h"}, "secret_token": {"abc"}}); code != 200 {
		t.Fatalf("setWebhook: %d", code)
	}
	if code, a := call(t, f, token, "getUpdates", nil); code != 409 || a.Description != telegramfake.DescWebhookSet {
		t.Errorf("getUpdates with a webhook: %d %q", code, a.Description)
	}
	if code, _ := call(t, f, token, "setWebhook", url.Values{"url": {"https://x.example/h"}, "secret_token": {"a b"}}); code != 400 {
		t.Errorf("setWebhook with a bad secret: %d", code)
	}
	if code, a := call(t, f, token, "setWebhook", url.Values{"url": {"http://x.example/h"}}); code != 400 || !strings.Contains(a.Description, "HTTPS") {
		t.Errorf("setWebhook with an http URL: %d %q", code, a.Description)
	}
	call(t, f, token, "deleteWebhook", nil)
	if code, _ := call(t, f, token, "getUpdates", nil); code != 200 {
		t.Errorf("getUpdates after deleteWebhook: %d", code)
	}
}

func TestGetMe(t *testing.T) {
	f := start(t)
	_, a := call(t, f, token, "getMe", nil)
	var me struct {
		ID       int64  `json:"id"`
		IsBot    bool   `json:"is_bot"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal(a.Result, &me); err != nil || me.ID != 777 || !me.IsBot || me.Username != "fake_bot" {
		t.Errorf("getMe = %s (%v)", a.Result, err)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := start(t)
	f.SetLimits(telegramfake.Limits{GlobalPerSecond: 1e6, GlobalBurst: 100, ChatPerSecond: 1e6, ChatBurst: 100})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			resp, err := http.PostForm(f.URL+"/bot"+token+"/sendMessage", send(strconv.Itoa(i%3+1), "hi", ""))
			if err == nil {
				resp.Body.Close()
			}
			_ = f.Sent()
		})
	}
	wg.Wait()
	if n := len(f.Sent()); n != 20 {
		t.Errorf("recorded %d messages, want 20", n)
	}
}
