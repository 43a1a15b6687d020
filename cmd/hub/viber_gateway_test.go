package main

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/7loc/hub/channels/gateway/gatewayfake"
	"github.com/7loc/hub/channels/viber/viberfake"
	"github.com/7loc/hub/hub"
)

// postInbound posts a provider's signed call to the hub.
func postInbound(t *testing.T, url string, in hub.InboundRequest) int {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(in.Body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = in.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestViberLinkSendStatusUnsubscribe(t *testing.T) {
	fake := viberfake.New()
	t.Cleanup(fake.Close)
	fake.AddAccount("viber-auth", "Café", "cafebot")
	c := newChannelApp(t, providerURLs{Viber: fake.URL})
	if st := c.call("PUT", "/v1/channels/viber", map[string]any{"auth_token": "viber-auth", "sender_name": "Café", "uri": "cafebot"}, nil); st != 200 {
		t.Fatalf("PUT viber: %d", st)
	}
	hookURL := c.api.URL + "/hooks/viber/" + c.biz
	cust := c.customer("ann@example.com", nil)
	var link hub.Link
	c.call("POST", "/v1/customers/"+cust+"/links/viber", nil, &link)
	if link.URL == nil || *link.URL != "viber://pa?chatURI=cafebot&context="+link.Token {
		t.Fatalf("link = %+v", link)
	}
	started := viberfake.ConversationStarted("01234567890A=", "Ann", link.Token, time.Now())
	if st := postInbound(t, hookURL, viberfake.SignedRequest("not-the-token", started)); st != 401 {
		t.Errorf("badly signed call: %d, want 401", st)
	}
	if st := postInbound(t, hookURL, viberfake.SignedRequest("viber-auth", started)); st != 200 {
		t.Fatalf("conversation_started: %d", st)
	}
	var d hub.Delivery
	c.call("POST", "/v1/channels/viber/test", map[string]any{"customer_id": cust, "text": "Hi from the café"}, &d)
	got := c.waitDelivery(d.ID)
	if got.Status != hub.DeliverySent || len(fake.SentTo("01234567890A=")) != 1 {
		t.Fatalf("send: %+v, %d sent", got, len(fake.SentTo("01234567890A=")))
	}
	token, _ := strconv.ParseInt(got.ProviderMessageID, 10, 64)
	if st := postInbound(t, hookURL, viberfake.SignedRequest("viber-auth", viberfake.Delivery("seen", token, "01234567890A=", "", time.Now()))); st != 200 {
		t.Fatalf("seen: %d", st)
	}
	c.call("GET", "/v1/deliveries/"+d.ID, nil, &got)
	if got.ProviderStatus != hub.ProviderRead {
		t.Errorf("after seen: %+v", got)
	}
	// Viber's body status 6 (receiver not subscribed) is permanent.
	fake.SetReceiverStatus("01234567890A=", 6)
	c.call("POST", "/v1/channels/viber/test", map[string]any{"customer_id": cust}, &d)
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliveryFailed {
		t.Errorf("status 6: %+v", got)
	}
	// unsubscribed withdraws consent.
	if st := postInbound(t, hookURL, viberfake.SignedRequest("viber-auth", viberfake.Unsubscribed("01234567890A=", time.Now()))); st != 200 {
		t.Fatalf("unsubscribed: %d", st)
	}
	var cd hub.CustomerDetail
	c.call("GET", "/v1/customers/"+cust, nil, &cd)
	if cd.Consent["viber"].Granted {
		t.Errorf("consent after unsubscribed: %+v", cd.Consent["viber"])
	}
}

func TestGatewayCarriesTelegramWithCallbacks(t *testing.T) {
	gw := gatewayfake.New(gatewayfake.Config{Secret: "gw-secret"})
	t.Cleanup(gw.Close)
	c := newChannelApp(t, providerURLs{})
	if st := c.call("PUT", "/v1/channels/gateway", map[string]any{"url": gw.URL, "secret": "gw-secret", "channels": "telegram,whatsapp"}, nil); st != 200 {
		t.Fatalf("PUT gateway: %d", st)
	}
	hookURL := c.api.URL + "/hooks/gateway/" + c.biz
	cust := c.customer("ann@example.com", nil)
	var link hub.Link
	if st := c.call("POST", "/v1/customers/"+cust+"/links/telegram", nil, &link); st != 201 || link.URL != nil || link.Token == "" {
		t.Fatalf("link through the gateway: %d %+v (the gateway builds its own URL from the token)", st, link)
	}
	if st, err := gw.PostCallback(context.Background(), nil, hookURL, gatewayfake.Event{Type: "link", Channel: "telegram", Address: "9001", Token: link.Token}); err != nil || st != 200 {
		t.Fatalf("link callback: %d %v", st, err)
	}
	var d hub.Delivery
	c.call("POST", "/v1/channels/gateway/test", map[string]any{"customer_id": cust, "channel": "telegram", "text": "via gateway"}, &d)
	got := c.waitDelivery(d.ID)
	msgs := gw.Messages()
	if got.Status != hub.DeliverySent || got.Provider != "gateway" || len(msgs) != 1 || msgs[0].To != "9001" || msgs[0].IdempotencyKey != d.ID {
		t.Fatalf("delivery %+v; gateway got %+v", got, msgs)
	}
	if st, err := gw.PostCallback(context.Background(), nil, hookURL, gatewayfake.StatusOf(msgs[0], "delivered", "")); err != nil || st != 200 {
		t.Fatalf("status callback: %d %v", st, err)
	}
	c.call("GET", "/v1/deliveries/"+d.ID, nil, &got)
	if got.ProviderStatus != hub.ProviderDelivered {
		t.Errorf("after the status callback: %+v", got)
	}
	// An unsigned callback is refused.
	resp, err := http.Post(hookURL, "application/json", bytes.NewReader([]byte(`{"type":"stop","channel":"telegram","address":"9001"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned gateway callback: %d", resp.StatusCode)
	}
}
