package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/httpapi/openapitest"
	"github.com/7loc/hub/hub/redistest"
)

// channelApp is the hub with workers on SQLite and the test Redis, a
// secret key, provider URLs from the test, and its API on a local server.
type channelApp struct {
	t   *testing.T
	a   *app
	api *httptest.Server
	key string
	biz string
	tpl string
}

func newChannelApp(t *testing.T, urls providerURLs) *channelApp {
	t.Helper()
	rdb, _ := redistest.Client(t)
	prefix := redistest.Prefix(t, rdb)
	opt := rdb.Options()
	cfg := &config{
		DataDir: t.TempDir(), RedisURL: fmt.Sprintf("redis://%s/%d", opt.Addr, opt.DB), QueuePrefix: prefix,
		Migrate: true, Concurrency: 4, RelayMinAge: time.Second, WebhookAllow: "127.0.0.0/8",
		DatabaseMaxConns: 4, KeyCacheTTL: time.Second, PublicURL: "https://hub.test",
		SecretKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", PollInterval: 5 * time.Millisecond,
		TelegramURL: urls.Telegram, WhatsAppURL: urls.WhatsApp, ViberURL: urls.Viber, APNsURL: urls.APNs,
		GoogleWalletURL: urls.GoogleWallet, GoogleTokenURL: urls.GoogleToken,
	}
	cfg.DatabaseURL = filepath.Join(cfg.DataDir, "hub.db")
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.providers.urls.apnsRoots = urls.apnsRoots
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.runWorkers(ctx, false); close(done) }()
	h, err := a.handler()
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	t.Cleanup(func() { api.Close(); cancel(); <-done; a.Close() })
	k, err := a.svc.EnsureKey(context.Background(), "Channel Café", "anna", nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := a.svc.Authenticate(context.Background(), k.Key)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := a.svc.CreateCardTemplate(context.Background(), pr.Business.ID, hub.CardTemplateInput{Name: "C",
		Goals: []hub.GoalInput{{Stamps: 5, Reward: hub.RewardInput{Title: "Coffee"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return &channelApp{t: t, a: a, api: api, key: k.Key, biz: pr.Business.ID, tpl: tpl.ID}
}

// call makes an API request with the key and decodes the JSON answer into out.
func (c *channelApp) call(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	var reqBody []byte
	if body != nil {
		var err error
		if reqBody, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, c.api.URL+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	openapitest.New(c.t).Check(c.t, req, reqBody, resp.StatusCode, resp.Header, b) // every exchange matches the document
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// customer issues a card and returns the customer id.
func (c *channelApp) customer(email string, consent map[string]bool) string {
	c.t.Helper()
	var card struct {
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
	}
	if st := c.call("POST", "/v1/cards", map[string]any{"template_id": c.tpl, "customer": map[string]any{"email": email}}, &card); st != 201 {
		c.t.Fatalf("issue card: %d", st)
	}
	if consent != nil {
		if st := c.call("PATCH", "/v1/customers/"+card.Customer.ID, map[string]any{"consent": consent}, nil); st != 200 {
			c.t.Fatalf("patch consent: %d", st)
		}
	}
	return card.Customer.ID
}

// waitDelivery polls the ledger until the delivery leaves pending/sending.
func (c *channelApp) waitDelivery(id string) *hub.Delivery {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d hub.Delivery
		if st := c.call("GET", "/v1/deliveries/"+id, nil, &d); st != 200 {
			c.t.Fatalf("get delivery: %d", st)
		}
		if d.Status != hub.DeliveryPending && d.Status != hub.DeliverySending {
			return &d
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("delivery %s still %s (%s) after 10s", id, d.Status, d.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEmailEndToEndWithOneClickUnsubscribe(t *testing.T) {
	smtp := emailfake.Start(t, emailfake.Options{})
	c := newChannelApp(t, providerURLs{})
	var view hub.ChannelConfigView
	if st := c.call("PUT", "/v1/channels/email", map[string]any{"host": smtp.Host(), "port": smtp.Port(), "tls": "none",
		"from": "hello@cafe.test", "from_name": "Café", "password": "not-logged"}, &view); st != 200 {
		t.Fatalf("PUT email: %d %+v", st, view)
	}
	if len(view.SecretsSet) != 1 || view.SecretsSet[0] != "password" || view.Settings["password"] != "" {
		t.Errorf("the view shows secrets: %+v", view)
	}
	cust := c.customer("ann@example.com", map[string]bool{"email": true})

	var d hub.Delivery
	if st := c.call("POST", "/v1/channels/email/test", map[string]any{"customer_id": cust, "subject": "Hi", "text": "Your card"}, &d); st != 202 {
		t.Fatalf("test send: %d", st)
	}
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliverySent || got.Attempts != 1 {
		t.Fatalf("delivery = %+v", got)
	}
	msgs := smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "ann@example.com" || msgs[0].Header.Get("Subject") != "Hi" {
		t.Fatalf("smtp got %+v", msgs)
	}
	unsub := strings.Trim(msgs[0].Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(unsub, "https://hub.test/u/") || msgs[0].Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe = %q, -Post = %q", unsub, msgs[0].Header.Get("List-Unsubscribe-Post"))
	}
	path := strings.TrimPrefix(unsub, "https://hub.test")

	// A forged token changes nothing; a GET (mail scanners) changes nothing.
	for _, probe := range []struct{ method, path string }{{"POST", path + "x"}, {"GET", path}} {
		req, err := http.NewRequest(probe.method, c.api.URL+probe.path, strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var got hub.CustomerDetail
	c.call("GET", "/v1/customers/"+cust, nil, &got)
	if !got.Consent["email"].Granted {
		t.Fatalf("a forged token or a GET unsubscribed the customer: %+v", got)
	}
	// The one-click POST (RFC 8058) opts out without a login.
	resp, err := http.Post(c.api.URL+path, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unsubscribe: %d", resp.StatusCode)
	}
	c.call("GET", "/v1/customers/"+cust, nil, &got)
	if c := got.Consent["email"]; c.Granted || c.Source != "unsubscribe_link" {
		t.Fatalf("consent after unsubscribe = %+v", c)
	}
	if st := c.call("POST", "/v1/channels/email/test", map[string]any{"customer_id": cust}, &d); st != 202 {
		t.Fatalf("test send: %d", st)
	}
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliveryFailed || got.Error != hub.ReasonNoConsent {
		t.Errorf("after opting out: %+v", got)
	}
	if n := len(smtp.Messages()); n != 1 {
		t.Errorf("smtp got %d messages, want still 1", n)
	}
}

func TestEmailBadAddressMarksUnreachable(t *testing.T) {
	smtp := emailfake.Start(t, emailfake.Options{})
	c := newChannelApp(t, providerURLs{})
	c.call("PUT", "/v1/channels/email", map[string]any{"host": smtp.Host(), "port": strconv.Itoa(smtp.Port()), "tls": "none", "from": "hello@cafe.test"}, nil)
	smtp.RejectRcpt("gone@example.com", emailfake.NoSuchUser())
	cust := c.customer("gone@example.com", map[string]bool{"email": true})
	var d hub.Delivery
	c.call("POST", "/v1/channels/email/test", map[string]any{"customer_id": cust}, &d)
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliveryFailed || !strings.HasPrefix(got.Error, "bad_address") {
		t.Fatalf("delivery = %+v", got)
	}
	var got hub.CustomerDetail
	c.call("GET", "/v1/customers/"+cust, nil, &got)
	if len(got.Contacts) != 1 || got.Contacts[0].Channel != "email" || got.Contacts[0].Reachable {
		t.Fatalf("contacts = %+v, want email unreachable", got.Contacts)
	}
	c.call("POST", "/v1/channels/email/test", map[string]any{"customer_id": cust}, &d)
	if got := c.waitDelivery(d.ID); got.Error != hub.ReasonUnreachable || len(smtp.Messages()) != 0 {
		t.Errorf("second send: %+v", got)
	}
}

func TestChannelConfigBadInputChangesNothing(t *testing.T) {
	c := newChannelApp(t, providerURLs{})
	if st := c.call("PUT", "/v1/channels/telegram", map[string]any{"bot_token": "1:a", "bot_username": "cafe_bot"}, nil); st != 200 {
		t.Fatalf("PUT: %d", st)
	}
	var before hub.ChannelConfigView
	c.call("GET", "/v1/channels/telegram", nil, &before)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"unknown field", "/v1/channels/telegram", map[string]any{"bot_token": "1:b", "bot_username": "x", "colour": "red"}, 422},
		{"wrong type", "/v1/channels/telegram", map[string]any{"bot_token": 5, "bot_username": "x"}, 422},
		{"bad choice", "/v1/channels/telegram", map[string]any{"bot_username": "x", "mode": "carrier-pigeon"}, 422},
		{"missing required", "/v1/channels/telegram", map[string]any{"mode": "polling"}, 422},
		{"enabled not a bool", "/v1/channels/telegram", map[string]any{"bot_username": "x", "enabled": "yes"}, 422},
		{"not an object", "/v1/channels/telegram", []int{1}, 422},
		{"huge rate", "/v1/channels/telegram", map[string]any{"bot_username": "x", "rate_per_second": 1e308}, 422},
		{"huge rate as text", "/v1/channels/telegram", map[string]any{"bot_username": "x", "chat_rate_per_second": "1000001"}, 422},
		{"NUL in a setting", "/v1/channels/telegram", map[string]any{"bot_username": "cafe\u0000bot"}, 422},
		{"blank rate", "/v1/channels/telegram", map[string]any{"bot_username": "x", "rate_per_second": -1}, 422},
		{"unknown provider", "/v1/channels/fax", map[string]any{}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if st := c.call("PUT", tt.path, tt.body, &env); st != tt.status || env.Error.Code == "" {
				t.Errorf("status %d code %q, want %d with the error envelope", st, env.Error.Code, tt.status)
			}
			var after hub.ChannelConfigView
			c.call("GET", "/v1/channels/telegram", nil, &after)
			if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Settings["bot_username"] != "cafe_bot" {
				t.Errorf("a refused PUT changed the configuration: %+v", after)
			}
		})
	}
	// Secrets are sealed at rest: the token is in neither the database file
	// nor its write-ahead log, while the non-secret username is.
	var raw []byte
	for _, f := range []string{c.a.cfg.DatabaseURL, c.a.cfg.DatabaseURL + "-wal"} {
		b, _ := os.ReadFile(f)
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("cafe_bot")) {
		t.Fatal("the check reads the wrong files: the username is not there either")
	}
	if bytes.Contains(raw, []byte("1:a")) {
		t.Error("the bot token is stored in the clear")
	}
}

// TestSendOwnerEmail: the hub.OwnerMailer of the binary sends an owner's
// mail (a password reset link) through the business's email channel.
func TestSendOwnerEmail(t *testing.T) {
	smtp := emailfake.Start(t, emailfake.Options{})
	p := &providers{log: slog.New(slog.DiscardHandler)}
	cfg := &hub.ChannelConfig{Provider: hub.ChannelEmail, Enabled: true, Settings: map[string]string{
		"host": smtp.Host(), "port": strconv.Itoa(smtp.Port()), "tls": "none", "from": "hello@cafe.test"}}
	err := p.SendOwnerEmail(context.Background(), cfg, hub.Message{DeliveryID: "inv_1", Channel: hub.ChannelEmail,
		To: "owner@cafe.test", Subject: "Choose a new password", Text: "https://hub.test/console/reset/x"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := smtp.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "owner@cafe.test" ||
		msgs[0].Header.Get("Subject") != "Choose a new password" ||
		!strings.Contains(string(msgs[0].Body), "https://hub.test/console/reset/x") {
		t.Fatalf("the SMTP server got %+v", msgs)
	}
}
