package main

import (
	"html"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/channels/viber/viberfake"
	"github.com/7loc/hub/hub"
)

// postUpdate posts a Telegram update to the hub's bot webhook with a secret token.
func postUpdate(t *testing.T, url, secret string, u any) int {
	t.Helper()
	return postInbound(t, url, telegramfake.WebhookRequest(secret, u))
}

func TestTelegramLinkSendBlockStop(t *testing.T) {
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	fake.AddBot("123456:secret-bot-token", "cafe_bot")
	c := newChannelApp(t, providerURLs{Telegram: fake.URL})
	if st := c.call("PUT", "/v1/channels/telegram", map[string]any{"bot_token": "123456:secret-bot-token",
		"bot_username": "cafe_bot", "webhook_secret": "hook-secret_1"}, nil); st != 200 {
		t.Fatalf("PUT telegram: %d", st)
	}
	hookURL := c.api.URL + "/hooks/telegram/" + c.biz
	cust := c.customer("ann@example.com", nil)
	customer := func() hub.CustomerDetail {
		var got hub.CustomerDetail
		c.call("GET", "/v1/customers/"+cust, nil, &got)
		return got
	}

	var link hub.Link
	if st := c.call("POST", "/v1/customers/"+cust+"/links/telegram", nil, &link); st != 201 {
		t.Fatalf("link: %d", st)
	}
	if link.URL == nil || *link.URL != "https://t.me/cafe_bot?start="+link.Token {
		t.Fatalf("link = %+v", link)
	}
	start := telegramfake.TextUpdate(777, "Ann", "", "/start "+link.Token, time.Now())
	// A call without the bot's secret token is refused and links nothing.
	if st := postUpdate(t, hookURL, "guess", start); st != 401 {
		t.Errorf("wrong secret: %d, want 401", st)
	}
	if got := customer(); len(got.Contacts) != 0 {
		t.Fatalf("a refused call linked: %+v", got.Contacts)
	}
	if st := postUpdate(t, hookURL, "hook-secret_1", start); st != 200 {
		t.Fatalf("start: %d", st)
	}
	// The token is one-time: another chat opening the same link links nothing.
	if st := postUpdate(t, hookURL, "hook-secret_1", telegramfake.TextUpdate(888, "Eve", "", "/start "+link.Token, time.Now())); st != 200 {
		t.Fatalf("second start: %d", st)
	}
	got := customer()
	if len(got.Contacts) != 1 || got.Contacts[0].Address != "777" || !got.Consent["telegram"].Granted ||
		got.Consent["telegram"].Source != "link:telegram" {
		t.Fatalf("after /start: contacts %+v consent %+v", got.Contacts, got.Consent)
	}

	var d hub.Delivery
	c.call("POST", "/v1/channels/telegram/test", map[string]any{"customer_id": cust, "text": "2 stamps <to> go & a gift"}, &d)
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliverySent {
		t.Fatalf("send: %+v", got)
	}
	sent := fake.SentTo("777")
	if len(sent) != 1 || sent[0].ParseMode != "HTML" || sent[0].Text != "2 stamps &lt;to&gt; go &amp; a gift" {
		t.Fatalf("sent = %+v", sent)
	}
	// The customer blocks the bot: the send fails for good and the chat is unreachable.
	fake.Block("777", true)
	c.call("POST", "/v1/channels/telegram/test", map[string]any{"customer_id": cust}, &d)
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliveryFailed || !strings.HasPrefix(got.Error, "blocked") {
		t.Fatalf("blocked: %+v", got)
	}
	if got := customer(); got.Contacts[0].Reachable {
		t.Errorf("blocked chat still reachable: %+v", got.Contacts[0])
	}
	// /stop withdraws consent.
	if st := postUpdate(t, hookURL, "hook-secret_1", telegramfake.TextUpdate(777, "Ann", "", "/stop", time.Now())); st != 200 {
		t.Fatalf("stop: %d", st)
	}
	if got := customer(); got.Consent["telegram"].Granted || got.Consent["telegram"].Source != "stop:telegram" {
		t.Errorf("after /stop: %+v", got.Consent["telegram"])
	}
}

// telegramApp is a channel app whose Telegram API is a fake with bot
// "123456:tok" (@cafe_bot).
func telegramApp(t *testing.T) (*telegramfake.Server, *channelApp) {
	t.Helper()
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	fake.AddBot("123456:tok", "cafe_bot")
	return fake, newChannelApp(t, providerURLs{Telegram: fake.URL})
}

// configureTelegram stores the bot's channel configuration with extra fields.
func (c *channelApp) configureTelegram(extra map[string]any) {
	c.t.Helper()
	body := map[string]any{"bot_token": "123456:tok", "bot_username": "cafe_bot"}
	for k, v := range extra {
		body[k] = v
	}
	if st := c.call("PUT", "/v1/channels/telegram", body, nil); st != 200 {
		c.t.Fatalf("PUT telegram: %d", st)
	}
}

func TestTelegramLinkTokenExpires(t *testing.T) {
	_, c := telegramApp(t)
	c.configureTelegram(map[string]any{"webhook_secret": "s"})
	cust := c.customer("ann@example.com", nil)
	var link hub.Link
	c.call("POST", "/v1/customers/"+cust+"/links/telegram", nil, &link)
	if d := time.Until(link.ExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("expires in %s, want 24h", d)
	}
	// Linking needs the token to be unexpired: apply it as if 25 h later.
	later := newServiceAt(t, c, time.Now().Add(25*time.Hour))
	if err := later.ApplyInbound(t.Context(), c.biz, []hub.Inbound{{Type: hub.InboundLink, Channel: "telegram", Address: "777", Token: link.Token}}); err != nil {
		t.Fatal(err)
	}
	var got hub.CustomerDetail
	c.call("GET", "/v1/customers/"+cust, nil, &got)
	if len(got.Contacts) != 0 {
		t.Errorf("an expired token linked: %+v", got.Contacts)
	}
}

// newServiceAt is a second Service on the app's store whose clock reads at.
func newServiceAt(t *testing.T, c *channelApp, at time.Time) *hub.Service {
	t.Helper()
	key, _ := secretKey(c.a.cfg.SecretKey)
	svc, err := hub.NewService(hub.Config{Store: c.a.store, SecretKey: key, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestTelegramLongPollingLinks(t *testing.T) {
	fake, c := telegramApp(t)
	c.configureTelegram(map[string]any{"mode": "polling"})
	cust := c.customer("ann@example.com", nil)
	var link hub.Link
	c.call("POST", "/v1/customers/"+cust+"/links/telegram", nil, &link)
	go c.a.pollTelegram(t.Context(), c.biz, 50*time.Millisecond)
	fake.QueueUpdate("123456:tok", telegramfake.TextUpdate(555, "Ann", "", "/start "+link.Token, time.Now()))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got hub.CustomerDetail
		c.call("GET", "/v1/customers/"+cust, nil, &got)
		if len(got.Contacts) == 1 && got.Contacts[0].Address == "555" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not linked by long polling: %+v", got.Contacts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCardPageConnectsTelegram(t *testing.T) {
	_, c := telegramApp(t)
	var card hub.Card
	c.call("POST", "/v1/cards", map[string]any{"template_id": c.tpl, "customer": map[string]any{"email": "ann@example.com"}}, &card)
	pageURL := c.api.URL + strings.TrimPrefix(card.PageURL, "https://hub.test")
	get := func(u string) (*http.Response, string) {
		t.Helper()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if _, page := get(pageURL); strings.Contains(page, "/link/telegram") {
		t.Fatal("the page offers Telegram before the business configured it")
	}
	c.configureTelegram(map[string]any{"webhook_secret": "s"})
	_, page := get(pageURL)
	i := strings.Index(page, "/c/"+card.ID+"/link/telegram?t=")
	if i < 0 {
		t.Fatalf("no Telegram link on the page:\n%s", page)
	}
	link := html.UnescapeString(page[i : i+strings.IndexByte(page[i:], '"')])
	if resp, _ := get(c.api.URL + link + "x"); resp.StatusCode != 404 {
		t.Errorf("a wrong page token: %d, want 404", resp.StatusCode)
	}
	resp, _ := get(c.api.URL + link)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.HasPrefix(loc, "https://t.me/cafe_bot?start=") {
		t.Fatalf("connect: %d %q", resp.StatusCode, loc)
	}
	token := strings.TrimPrefix(loc, "https://t.me/cafe_bot?start=")
	if st := postUpdate(t, c.api.URL+"/hooks/telegram/"+c.biz, "s", telegramfake.TextUpdate(321, "Ann", "", "/start "+token, time.Now())); st != 200 {
		t.Fatalf("start: %d", st)
	}
	var got hub.CustomerDetail
	c.call("GET", "/v1/customers/"+card.Customer.ID, nil, &got)
	if len(got.Contacts) != 1 || got.Contacts[0].Address != "321" {
		t.Errorf("contacts = %+v", got.Contacts)
	}
}

func TestTelegramRateLimitTimeoutAndDownThroughTheWorker(t *testing.T) {
	fake, c := telegramApp(t)
	c.configureTelegram(map[string]any{"webhook_secret": "s"})
	cust := c.customer("ann@example.com", nil)
	var link hub.Link
	c.call("POST", "/v1/customers/"+cust+"/links/telegram", nil, &link)
	postUpdate(t, c.api.URL+"/hooks/telegram/"+c.biz, "s", telegramfake.TextUpdate(42, "Ann", "", "/start "+link.Token, time.Now()))
	send := func(text string) string {
		var d hub.Delivery
		if st := c.call("POST", "/v1/channels/telegram/test", map[string]any{"customer_id": cust, "text": text}, &d); st != 202 {
			t.Fatalf("queue: %d", st)
		}
		return d.ID
	}

	// 429 with retry_after 1: sent once, no sooner than a second later, not counted as an attempt.
	fake.RateLimitNext(1, 1)
	t0 := time.Now()
	d := c.waitDelivery(send("after a 429"))
	if d.Status != hub.DeliverySent || d.Attempts != 1 || time.Since(t0) < time.Second || len(fake.SentTo("42")) != 1 {
		t.Fatalf("after 429: %+v in %s, %d sent", d, time.Since(t0), len(fake.SentTo("42")))
	}

	// Down: a transient failure stays pending for a retry, with the reason.
	fake.SetDown(true)
	id := send("while down")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got hub.Delivery
		c.call("GET", "/v1/deliveries/"+id, nil, &got)
		if got.Attempts == 1 && got.Status == hub.DeliveryPending {
			if !strings.HasPrefix(got.Error, "provider_down") {
				t.Errorf("down: error %q", got.Error)
			}
			break
		}
		if got.Status != hub.DeliveryPending && got.Status != hub.DeliverySending || time.Now().After(deadline) {
			t.Fatalf("down: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fake.SetDown(false)

	// Slower than the send timeout: Telegram may have it, so it is unknown and never resent.
	c.a.providers.client.Timeout = 300 * time.Millisecond
	fake.SetDelay(time.Second)
	if d := c.waitDelivery(send("slow")); d.Status != hub.DeliveryUnknown || !strings.HasPrefix(d.Error, "timeout") {
		t.Errorf("timeout: %+v", d)
	}
}

func TestRegisterChannelWebhook(t *testing.T) {
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	fake.AddBot("123456:tok", "cafe_bot")
	vfake := viberfake.New()
	t.Cleanup(vfake.Close)
	vfake.AddAccount("viber-auth", "Café", "cafebot")
	c := newChannelApp(t, providerURLs{Telegram: fake.URL, Viber: vfake.URL})
	type answer struct {
		Provider     string    `json:"provider"`
		URL          string    `json:"url"`
		RegisteredAt time.Time `json:"registered_at"`
		Error        struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	register := func(provider string) (int, answer) {
		t.Helper()
		var a answer
		return c.call("POST", "/v1/channels/"+provider+"/webhook", nil, &a), a
	}

	if st, a := register("telegram"); st != 404 || a.Error.Code != "not_found" {
		t.Errorf("before the channel is configured: %d %+v", st, a)
	}
	c.configureTelegram(map[string]any{"webhook_secret": "s3cret"})
	st, a := register("telegram")
	wantURL := "https://hub.test/hooks/telegram/" + c.biz
	if st != 200 || a.Provider != "telegram" || a.URL != wantURL || a.RegisteredAt.IsZero() {
		t.Fatalf("register: %d %+v", st, a)
	}
	wh := fake.Webhook("123456:tok")
	if wh == nil || wh.URL != wantURL || wh.SecretToken != "s3cret" || !slices.Contains(wh.AllowedUpdates, "message") {
		t.Fatalf("Telegram's webhook: %+v", wh)
	}

	// Refused (a revoked token) is 422, not answering is 503; neither shows the token.
	fake.FailNext(1, 401, "Unauthorized")
	if st, a := register("telegram"); st != 422 || a.Error.Code != "validation_failed" || !strings.Contains(a.Error.Message, "401") ||
		strings.Contains(a.Error.Message, "123456:tok") {
		t.Errorf("refused: %d %+v", st, a)
	}
	fake.SetDown(true)
	if st, a := register("telegram"); st != 503 || a.Error.Code != "unavailable" || strings.Contains(a.Error.Message, "123456:tok") {
		t.Errorf("Telegram down: %d %+v", st, a)
	}
	fake.SetDown(false)

	// Polling mode would stop polling: refused without calling Telegram.
	c.configureTelegram(map[string]any{"mode": "polling"})
	calls := fake.Calls("setWebhook")
	if st, a := register("telegram"); st != 409 || a.Error.Code != "conflict" || fake.Calls("setWebhook") != calls {
		t.Errorf("polling mode: %d %+v, setWebhook calls %d → %d", st, a, calls, fake.Calls("setWebhook"))
	}

	if st := c.call("PUT", "/v1/channels/viber", map[string]any{"auth_token": "viber-auth", "sender_name": "Café", "uri": "cafebot"}, nil); st != 200 {
		t.Fatalf("PUT viber: %d", st)
	}
	if st, a := register("viber"); st != 200 || a.URL != "https://hub.test/hooks/viber/"+c.biz {
		t.Errorf("register viber: %d %+v", st, a)
	}
	if vw := vfake.Webhook("viber-auth"); vw == nil || vw.URL != "https://hub.test/hooks/viber/"+c.biz {
		t.Errorf("Viber's webhook: %+v", vw)
	}

	for _, tt := range []struct {
		provider string
		status   int
		code     string
	}{
		{"whatsapp", 422, "validation_failed"},
		{"gateway", 422, "validation_failed"},
		{"sms", 404, "not_found"},
	} {
		if st, a := register(tt.provider); st != tt.status || a.Error.Code != tt.code {
			t.Errorf("%s: %d %+v, want %d %s", tt.provider, st, a, tt.status, tt.code)
		}
	}
}
