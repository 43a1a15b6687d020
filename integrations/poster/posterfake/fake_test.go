package posterfake_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/7loc/hub/integrations/poster/posterfake"
)

// get calls the fake and decodes the JSON answer.
func get(t *testing.T, fake *posterfake.Server, method string, q url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := fake.Client().Get(fake.APIURL() + "/" + method + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestWireErrors: errors come as {"error":{"code","message"}} with HTTP 200.
func TestWireErrors(t *testing.T) {
	fake := posterfake.New(posterfake.Config{})
	defer fake.Close()
	tests := []struct {
		name, method string
		q            url.Values
		want         map[string]any
	}{
		{"no token", "clients.getGroups", url.Values{}, map[string]any{"code": 10.0, "message": "access_token is not specified"}},
		{"bad token", "clients.getGroups", url.Values{"token": {"1:x"}}, map[string]any{"code": 11.0, "message": "Bad access token"}},
		{"unknown method", "clients.nope", url.Values{"token": {fake.Token()}},
			map[string]any{"code": 400.0, "message": "Invalid request format: unknown method clients.nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := get(t, fake, tt.method, tt.q)
			if status != http.StatusOK {
				t.Errorf("status %d, want 200", status)
			}
			if d := cmp.Diff(tt.want, out["error"]); d != "" {
				t.Errorf("error (-want +got):\n%s", d)
			}
		})
	}
	fake.RateLimitNext(1)
	if _, out := get(t, fake, "clients.getGroups", url.Values{"token": {fake.Token()}}); out["error"].(map[string]any)["code"] != 700.0 {
		t.Errorf("rate limit: %v", out)
	}
	if n := fake.CallsTo("clients.getGroups"); n != 3 {
		t.Errorf("CallsTo = %d", n)
	}
}

// TestTransactionShape: ids and sums are strings, date_close milliseconds.
func TestTransactionShape(t *testing.T) {
	fake := posterfake.New(posterfake.Config{})
	defer fake.Close()
	at := time.UnixMilli(1518873046314)
	id := fake.AddTransaction(posterfake.Transaction{ClosedAt: at, PayedSum: 2750, PayedCash: 2750,
		Products: []posterfake.Product{{ProductID: 162, Price: 1050}}})
	_, out := get(t, fake, "dash.getTransaction", url.Values{"token": {fake.Token()},
		"transaction_id": {strconv.FormatInt(id, 10)}, "include_products": {"true"}})
	list, ok := out["response"].([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("response %v", out)
	}
	tx := list[0].(map[string]any)
	for k, want := range map[string]any{"transaction_id": strconv.FormatInt(id, 10), "status": "2",
		"date_close": "1518873046314", "payed_sum": "2750", "payed_cash": "2750", "pay_type": "1", "client_id": "0"} {
		if tx[k] != want {
			t.Errorf("%s = %#v, want %#v", k, tx[k], want)
		}
	}
	p := tx["products"].([]any)[0].(map[string]any)
	if p["product_id"] != "162" || p["num"] != "1" || p["product_price"] != "1050" || p["payed_sum"] != "1050" {
		t.Errorf("product %v", p)
	}
}

// TestWebhookBody: the body carries data as a JSON string and object_id as
// a number, and verify is the md5 of the documented parts.
func TestWebhookBody(t *testing.T) {
	w := posterfake.Webhook{Object: "transaction", ObjectID: "16776", Action: "closed",
		Data: `{"status":"2"}`, Time: time.Unix(1688722229, 0)}
	var got map[string]any
	if err := json.Unmarshal(posterfake.WebhookBody(w, "s"), &got); err != nil {
		t.Fatal(err)
	}
	w.Account = posterfake.DefaultAccount
	want := map[string]any{"account": "api-demo", "account_number": "861052", "object": "transaction",
		"object_id": 16776.0, "action": "closed", "time": "1688722229", "data": `{"status":"2"}`,
		"verify": posterfake.Sign(w, "s")}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("body (-want +got):\n%s", d)
	}
	if !strings.EqualFold(posterfake.Sign(posterfake.Webhook{Account: "a", Object: "o", ObjectID: "1", Action: "x",
		Time: time.Unix(5, 0)}, "s"), "1ef9b466e384dcbf0bb7b7267c2ed1a4") {
		// md5("a;o;1;x;5;s"), computed with md5sum
		t.Errorf("Sign does not follow the documented algorithm")
	}
}
