package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/hub/cardpage"
	"github.com/7loc/hub/hub/httpapi"
)

// TestRequestDeadline: a request whose work outlasts RequestTimeout answers
// 503 unavailable with Retry-After and writes nothing.
func TestRequestDeadline(t *testing.T) {
	runBoth(t, func(t *testing.T, h *harness) {
		pages, err := cardpage.New()
		if err != nil {
			t.Fatal(err)
		}
		handler, err := httpapi.New(httpapi.Config{Service: h.svc, AdminToken: adminToken, Pages: pages,
			RequestTimeout: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(handler)
		defer srv.Close()
		before := h.snapshot()
		req, _ := http.NewRequest("POST", srv.URL+"/v1/cards", strings.NewReader(`{"template_id":"`+h.template+`","customer":{"email":"late@example.com"}}`))
		req.Header.Set("Authorization", "Bearer "+h.key)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("past the deadline = %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if after := h.snapshot(); after != before {
			t.Errorf("a request past its deadline changed the data")
		}
		if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 200 {
			t.Errorf("healthz with the deadline = %v, %v", res, err)
		}
	})
}
