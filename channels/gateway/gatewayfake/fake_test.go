package gatewayfake_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/7loc/hub/channels/gateway/gatewayfake"
)

// TestIdempotencyKeyMismatch checks that a reused key with another body is refused.
func TestIdempotencyKeyMismatch(t *testing.T) {
	fake := gatewayfake.New(gatewayfake.Config{})
	defer fake.Close()
	post := func(body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, fake.URL+"/messages", bytes.NewReader([]byte(body)))
		gatewayfake.Sign(req.Header, []byte(gatewayfake.DefaultSecret), "dlv_1", time.Now(), []byte(body))
		req.Header.Set("Idempotency-Key", "dlv_1")
		resp, err := fake.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		body string
		want int
	}{
		{`{"id":"dlv_1","channel":"viber","to":"u1","text":"a"}`, http.StatusAccepted},
		{`{"id":"dlv_1","channel":"viber","to":"u1","text":"a"}`, http.StatusAccepted},
		{`{"id":"dlv_1","channel":"viber","to":"u1","text":"b"}`, http.StatusUnprocessableEntity},
	}
	for i, tt := range tests {
		if got := post(tt.body); got != tt.want {
			t.Errorf("post %d: status %d, want %d", i, got, tt.want)
		}
	}
	if n := len(fake.Messages()); n != 1 || fake.Calls() != 3 {
		t.Errorf("messages %d, calls %d", n, fake.Calls())
	}
}
