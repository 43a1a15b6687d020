package openapitest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	cardID     = "card_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
	customerID = "c_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
	apiKey     = "7loc_sc_0123456789abcdefghijABCDEFGHIJ012345"
)

// card returns a valid Card as the API sends it.
func card() map[string]any {
	return map[string]any{
		"id":          cardID,
		"template_id": "tpl_01JTZ6W1Q9M3N4R5S6T7V8W9XY",
		"customer": map[string]any{
			"id": customerID, "email": "ann@example.com", "phone": nil, "name": "Ann",
			"language": "en", "birthday": nil, "wallet_pass_id": "wp_01JTZ6W1Q9M3N4R5S6T7V8W9XY",
			"consent":    map[string]any{"email": map[string]any{"granted": true, "source": "api", "at": "2026-05-11T12:34:56.123Z"}},
			"created_at": "2026-05-11T12:34:56.123Z", "updated_at": "2026-05-11T12:34:56.123Z",
		},
		"wallet_pass_id": "wp_01JTZ6W1Q9M3N4R5S6T7V8W9XY",
		"stamps":         3,
		"stamps_total":   13,
		"goal_index":     0,
		"goals": []any{
			map[string]any{"index": 0, "stamps": 5, "reward": map[string]any{"title": "Coffee"}, "reached": false},
		},
		"cycle":         2,
		"status":        "active",
		"page_url":      "https://hub.example.com/c/" + cardID + "?t=abcDEF123",
		"created_at":    "2026-05-11T12:34:56.123Z",
		"updated_at":    "2026-05-11T12:34:56.123Z",
		"last_stamp_at": nil,
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonHeader() http.Header {
	return http.Header{"Content-Type": {"application/json; charset=utf-8"}}
}

func get(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+apiKey)
	return r
}

// problemsOf runs the checker and returns its findings as one string.
func problemsOf(c *Checker, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) string {
	return strings.Join(c.problems(req, reqBody, status, header, body), "\n")
}

func TestResponses(t *testing.T) {
	c := New(t)
	errBody := func(code string) []byte {
		return []byte(fmt.Sprintf(`{"error":{"code":%q,"message":"no"}}`, code))
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		header http.Header
		body   func(t *testing.T) []byte
		want   string // a substring of the problems; "" for none
	}{
		{"valid card", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte { return mustJSON(t, card()) }, ""},
		{"valid card with nullable fields set", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["last_stamp_at"] = "2026-05-11T12:34:56.123Z"
				c["customer"].(map[string]any)["phone"] = "+380671234567"
				return mustJSON(t, c)
			}, ""},
		{"wrong field type", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["stamps"] = "3"
				return mustJSON(t, c)
			}, "/stamps"},
		{"null where not nullable", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["wallet_pass_id"] = nil
				return mustJSON(t, c)
			}, "/wallet_pass_id"},
		{"extra field", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["secret_token"] = "x"
				return mustJSON(t, c)
			}, "secret_token"},
		{"extra field in a nested object", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["customer"].(map[string]any)["business_id"] = "b_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
				return mustJSON(t, c)
			}, "business_id"},
		{"missing required field", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				delete(c, "last_stamp_at")
				return mustJSON(t, c)
			}, "last_stamp_at"},
		{"time not in UTC", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["created_at"] = "2026-05-11T14:34:56.123+02:00"
				return mustJSON(t, c)
			}, "/created_at"},
		{"bad id prefix", get("/v1/cards/" + cardID), 200, jsonHeader(),
			func(t *testing.T) []byte {
				c := card()
				c["id"] = "crd_01JTZ6W1Q9M3N4R5S6T7V8W9XY"
				return mustJSON(t, c)
			}, "/id"},
		{"undocumented status", get("/v1/cards/" + cardID), http.StatusTeapot, jsonHeader(),
			func(t *testing.T) []byte { return mustJSON(t, card()) }, "status 418 is not documented for getCard"},
		{"undocumented error status for the operation", get("/v1/me"), 404, jsonHeader(),
			func(t *testing.T) []byte { return errBody("not_found") }, "status 404 is not documented for getMe"},
		{"undocumented operation", get("/v1/nothing"), 404, jsonHeader(),
			func(t *testing.T) []byte { return errBody("not_found") }, "no documented operation"},
		{"undocumented method", httptest.NewRequest(http.MethodPut, "/v1/cards/"+cardID, nil), 404, jsonHeader(),
			func(t *testing.T) []byte { return errBody("not_found") }, "no documented operation"},
		{"error envelope", get("/v1/cards/" + cardID), 404, jsonHeader(),
			func(t *testing.T) []byte { return errBody("not_found") }, ""},
		{"error code of another status", get("/v1/cards/" + cardID), 404, jsonHeader(),
			func(t *testing.T) []byte { return errBody("conflict") }, "/error/code"},
		{"error without message", get("/v1/cards/" + cardID), 404, jsonHeader(),
			func(t *testing.T) []byte { return []byte(`{"error":{"code":"not_found"}}`) }, "message"},
		{"wrong content type", get("/v1/cards/" + cardID), 200, http.Header{"Content-Type": {"text/plain"}},
			func(t *testing.T) []byte { return mustJSON(t, card()) }, "Content-Type"},
		{"429 without Retry-After", get("/v1/me"), 429, jsonHeader(),
			func(t *testing.T) []byte { return errBody("rate_limited") }, "Retry-After"},
		{"429 with Retry-After", get("/v1/me"), 429,
			http.Header{"Content-Type": {"application/json"}, "Retry-After": {"3"}},
			func(t *testing.T) []byte { return errBody("rate_limited") }, ""},
		{"body on 204", httptest.NewRequest(http.MethodDelete, "/v1/hooks/hk_01JTZ6W1Q9M3N4R5S6T7V8W9XY", nil), 204, jsonHeader(),
			func(t *testing.T) []byte { return []byte(`{}`) }, "no body"},
		{"empty list", get("/v1/cards?limit=10&email=ann@example.com"), 200, jsonHeader(),
			func(t *testing.T) []byte { return []byte(`{"data":[],"next_cursor":null}`) }, ""},
		{"list item checked", get("/v1/cards"), 200, jsonHeader(),
			func(t *testing.T) []byte { return []byte(`{"data":[{"id":"x"}],"next_cursor":null}`) }, "/data/0"},
		{"list without next_cursor", get("/v1/cards"), 200, jsonHeader(),
			func(t *testing.T) []byte { return []byte(`{"data":[]}`) }, "next_cursor"},
		{"html page", httptest.NewRequest(http.MethodGet, "/c/"+cardID+"?t=abc", nil), 200,
			http.Header{"Content-Type": {"text/html; charset=utf-8"}},
			func(t *testing.T) []byte { return []byte("<!doctype html><p>3 stamps</p>") }, ""},
		{"metrics", httptest.NewRequest(http.MethodGet, "/metrics", nil), 200,
			http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8; escaping=underscores"}},
			func(t *testing.T) []byte { return []byte("# HELP x y\nx 1\n") }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problemsOf(c, tc.req, nil, tc.status, tc.header, tc.body(t))
			switch {
			case tc.want == "" && got != "":
				t.Errorf("unexpected problems:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("problems do not mention %q:\n%s", tc.want, got)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	c := New(t)
	stamps := "/v1/cards/" + cardID + "/stamps"
	result := func(t *testing.T) []byte {
		return mustJSON(t, map[string]any{
			"card":    card(),
			"events":  []any{map[string]any{"id": "evt_01JTZ6W1Q9M3N4R5S6T7V8W9XY", "event": "stamp_added"}},
			"rewards": []any{},
		})
	}
	post := func(path, body string, header ...string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		body   string
		status int
		want   string
	}{
		{"valid, bearer key", post(stamps, "", "Authorization", "Bearer "+apiKey), `{"count":2,"note":"x"}`, 200, ""},
		{"valid, X-API-Key", post(stamps, "", "X-API-Key", apiKey), `{"count":2,"location_id":null}`, 200, ""},
		{"valid, no body", post(stamps, "", "X-API-Key", apiKey), "", 200, ""},
		{"valid, idempotency key", post(stamps, "", "X-API-Key", apiKey, "Idempotency-Key", "k1"), `{}`, 200, ""},
		{"no credentials", post(stamps, ""), `{"count":2}`, 200, "authorization"},
		{"count out of range", post(stamps, "", "X-API-Key", apiKey), `{"count":0}`, 200, "/count"},
		{"unknown field", post(stamps, "", "X-API-Key", apiKey), `{"count":2,"stamps":3}`, 200, "stamps"},
		{"idempotency key too long", post(stamps, "", "X-API-Key", apiKey, "Idempotency-Key", strings.Repeat("k", 256)), `{}`, 200, "Idempotency-Key"},
		{"bad path id", post("/v1/cards/card_1/stamps", "", "X-API-Key", apiKey), `{}`, 200, `"id"`},
		{"undocumented query parameter", post(stamps+"?dry_run=1", "", "X-API-Key", apiKey), `{}`, 200, "dry_run"},
		{"invalid request answered with an error is fine", post(stamps, "", "X-API-Key", apiKey), `{"count":0}`, 422, ""},
		{"unauthenticated request answered with 401 is fine", post(stamps, ""), `{}`, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var respBody []byte
			switch tc.status {
			case 200:
				respBody = result(t)
			case 401:
				respBody = []byte(`{"error":{"code":"unauthorized","message":"no key"}}`)
			case 422:
				respBody = []byte(`{"error":{"code":"validation_failed","message":"bad","fields":{"count":"must be between 1 and 100"}}}`)
			}
			var reqBody []byte
			if tc.body != "" {
				reqBody = []byte(tc.body)
			}
			got := problemsOf(c, tc.req, reqBody, tc.status, jsonHeader(), respBody)
			switch {
			case tc.want == "" && got != "":
				t.Errorf("unexpected problems:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("problems do not mention %q:\n%s", tc.want, got)
			}
		})
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func TestCheckReportsThroughTB(t *testing.T) {
	c := New(t)
	req := get("/v1/cards/" + cardID)

	ok := &recorder{TB: t}
	c.Check(ok, req, nil, 200, jsonHeader(), mustJSON(t, card()))
	if len(ok.errors) != 0 {
		t.Errorf("a valid exchange failed the test: %v", ok.errors)
	}

	bad := &recorder{TB: t}
	broken := card()
	broken["cycle"] = 0
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(200)
	_, _ = rec.Write(mustJSON(t, broken))
	c.CheckRecorder(bad, req, nil, rec)
	if len(bad.errors) != 1 || !strings.Contains(bad.errors[0], "GET /v1/cards/"+cardID+" -> 200") ||
		!strings.Contains(bad.errors[0], "/cycle") {
		t.Errorf("errors = %q, want one naming the request and /cycle", bad.errors)
	}
	if err := c.Validate(req, nil, 200, jsonHeader(), mustJSON(t, broken)); err == nil {
		t.Error("Validate accepted a card with cycle 0")
	}
}

// TestRequestBodyNotConsumed makes sure Check leaves the caller's request alone.
func TestRequestBodyNotConsumed(t *testing.T) {
	c := New(t)
	req := httptest.NewRequest(http.MethodPatch, "/v1/customers/"+customerID, strings.NewReader(`{"name":"Ann"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	resp := card()["customer"]
	c.Check(t, req, []byte(`{"name":"Ann"}`), 200, jsonHeader(), mustJSON(t, resp))
	b, _ := io.ReadAll(req.Body)
	if string(b) != `{"name":"Ann"}` {
		t.Errorf("request body after Check = %q", b)
	}
}

// TestInlineDocument checks the validation logic against a small document of
// its own, independent of the hub's.
func TestInlineDocument(t *testing.T) {
	c := NewFromDocument(t, []byte(`
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: "^t_[0-9]+$"}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [id, note]
                properties:
                  id: {type: string}
                  note: {type: [string, "null"]}
`))
	req := httptest.NewRequest(http.MethodGet, "/things/t_1", nil)
	for body, want := range map[string]string{
		`{"id":"t_1","note":null}`:          "",
		`{"id":"t_1","note":"n"}`:           "",
		`{"id":"t_1","note":1}`:             "/note",
		`{"id":"t_1"}`:                      "note",
		`{"id":"t_1","note":null,"x":true}`: "'x'",
	} {
		got := problemsOf(c, req, nil, 200, jsonHeader(), []byte(body))
		if (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%s: problems %q, want %q", body, got, want)
		}
	}
	if got := problemsOf(c, req, nil, 500, jsonHeader(), nil); !strings.Contains(got, "status 500 is not documented") {
		t.Errorf("undocumented 500: problems %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New(t)
	body := mustJSON(t, card())
	for i := 0; i < 8; i++ {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			broken := card()
			broken["status"] = "lost"
			for j := 0; j < 5; j++ {
				if got := problemsOf(c, get("/v1/cards/"+cardID), nil, 200, jsonHeader(), body); got != "" {
					t.Errorf("valid card: %s", got)
				}
				if got := problemsOf(c, get("/v1/cards/"+cardID), nil, 200, jsonHeader(), mustJSON(t, broken)); !strings.Contains(got, "/status") {
					t.Errorf("broken card: %q", got)
				}
			}
		})
	}
}
