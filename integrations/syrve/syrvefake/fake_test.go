package syrvefake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/integrations/syrve/syrvefake"
)

type answer struct {
	Status     int
	RetryAfter string
	Body       map[string]any
}

func post(t *testing.T, fake *syrvefake.Server, path, token, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fake.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := fake.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["correlationId"].(string); !ok {
		t.Errorf("%s: answer without correlationId: %v", path, m)
	}
	delete(m, "correlationId")
	return answer{resp.StatusCode, resp.Header.Get("Retry-After"), m}
}

func token(t *testing.T, fake *syrvefake.Server) string {
	t.Helper()
	a := post(t, fake, "/api/1/access_token", "", `{"apiLogin":"`+syrvefake.DefaultAPILogin+`"}`)
	tok, _ := a.Body["token"].(string)
	if a.Status != 200 || tok == "" {
		t.Fatalf("access_token: %+v", a)
	}
	return tok
}

func TestWireErrors(t *testing.T) {
	errBody := func(desc string) map[string]any { return map[string]any{"errorDescription": desc, "error": nil} }
	tests := []struct {
		name  string
		setup func(*syrvefake.Server)
		path  string
		auth  bool
		body  string
		want  answer
	}{
		{"wrong apiLogin", nil, "/api/1/access_token", false, `{"apiLogin":"x"}`,
			answer{401, "", errBody("Login 'x' is not authorized")}},
		{"no token", nil, "/api/1/organizations", false, `{}`, answer{401, "", errBody("Unauthorized")}},
		{"expired token", func(s *syrvefake.Server) { s.ExpireTokens() }, "/api/1/organizations", true, `{}`,
			answer{401, "", errBody("Unauthorized")}},
		{"429", func(s *syrvefake.Server) { s.FailNext(1, 429, "2") }, "/api/1/organizations", true, `{}`,
			answer{429, "2", errBody("Too Many Requests")}},
		{"503", func(s *syrvefake.Server) { s.FailNext(1, 503, "") }, "/api/1/organizations", true, `{}`,
			answer{503, "", errBody("Service Unavailable")}},
		{"not json", nil, "/api/1/organizations", true, `{`, answer{400, "", errBody("Invalid request body")}},
		{"customer not found", nil, "/api/1/loyalty/iiko/customer/info", true,
			`{"type":"phone","organizationId":"` + syrvefake.DefaultOrganizationID + `","phone":"+1555"}`,
			answer{400, "", errBody("Customer with phone +1555 not found")}},
		{"by_table without tables", nil, "/api/1/order/by_table", true, `{"organizationIds":[]}`,
			answer{400, "", errBody("tableIds is required")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := syrvefake.New(syrvefake.Config{})
			defer fake.Close()
			tok := ""
			if tt.auth {
				tok = token(t, fake)
			}
			if tt.setup != nil {
				tt.setup(fake)
			}
			got := post(t, fake, tt.path, tok, tt.body)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("answer (-want +got):\n%s", d)
			}
		})
	}
}

func TestSendWebhook(t *testing.T) {
	fake := syrvefake.New(syrvefake.Config{Now: func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }})
	defer fake.Close()
	type got struct {
		Auth string
		Body []map[string]any
	}
	calls := make(chan got, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body []map[string]any
		_ = json.Unmarshal(b, &body)
		calls <- got{r.Header.Get("Authorization"), body}
	}))
	defer hook.Close()
	fake.AddOrder(syrvefake.Order{ID: "o1", Sum: "1.5"})
	if err := fake.SendWebhook(context.Background(), "o1"); err == nil {
		t.Error("sent without a registered webhook")
	}
	tok := token(t, fake)
	reg := `{"organizationId":"` + syrvefake.DefaultOrganizationID + `","webHooksUri":"` + hook.URL + `","authToken":"s3"}`
	if a := post(t, fake, "/api/1/webhooks/update_settings", tok, reg); a.Status != 200 {
		t.Fatalf("update_settings: %+v", a)
	}
	if err := fake.CloseOrder("o1", time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := fake.SendWebhook(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	c := <-calls
	if c.Auth != "s3" || len(c.Body) != 1 {
		t.Fatalf("webhook call %+v", c)
	}
	ev := c.Body[0]
	info, _ := ev["eventInfo"].(map[string]any)
	order, _ := info["order"].(map[string]any)
	summary := []any{ev["eventType"], ev["eventTime"], ev["organizationId"], info["id"], order["status"],
		order["sum"], order["whenClosed"]}
	want := []any{"TableOrderUpdate", "2026-03-01 09:00:00.000", syrvefake.DefaultOrganizationID, "o1", "Closed",
		1.5, "2026-03-01 09:00:00.000"}
	if d := cmp.Diff(want, summary); d != "" {
		t.Errorf("webhook body (-want +got):\n%s", d)
	}
	fake.LoseWebhooks(true)
	if err := fake.SendWebhook(context.Background(), "o1"); err != nil {
		t.Fatal(err)
	}
	if sent, lost := fake.WebhookCounts(); sent != 1 || lost != 1 {
		t.Errorf("sent %d lost %d", sent, lost)
	}
}
