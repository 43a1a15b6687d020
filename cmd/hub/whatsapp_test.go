package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
	"github.com/7loc/hub/hub"
)

func TestWhatsAppEndToEnd(t *testing.T) {
	fake := whatsappfake.New(whatsappfake.Config{PhoneNumberID: "1055", AccessToken: "EAAG-token", AppSecret: "app-secret", VerifyToken: "verify-me"})
	t.Cleanup(fake.Close)
	c := newChannelApp(t, providerURLs{WhatsApp: fake.URL})
	if st := c.call("PUT", "/v1/channels/whatsapp", map[string]any{"phone_number_id": "1055", "access_token": "EAAG-token",
		"app_secret": "app-secret", "verify_token": "verify-me", "template_name": "loyalty_update"}, nil); st != 200 {
		t.Fatalf("PUT whatsapp: %d", st)
	}
	hookURL := c.api.URL + "/hooks/whatsapp/" + c.biz

	// Meta's subscription handshake echoes the challenge only with our verify token.
	for token, want := range map[string]int{"verify-me": 200, "wrong": 401} {
		resp, err := http.Get(hookURL + "?hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=1158201444")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && string(body) != "1158201444") {
			t.Errorf("verify with %q: %d %q", token, resp.StatusCode, body)
		}
	}

	var card struct {
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
	}
	c.call("POST", "/v1/cards", map[string]any{"template_id": c.tpl, "customer": map[string]any{"phone": "+14155550100"}}, &card)
	cust := card.Customer.ID
	c.call("PATCH", "/v1/customers/"+cust, map[string]any{"consent": map[string]bool{"whatsapp": true}}, nil)

	send := func() *hub.Delivery {
		t.Helper()
		var d hub.Delivery
		if st := c.call("POST", "/v1/channels/whatsapp/test", map[string]any{"customer_id": cust, "text": "5 stamps to go"}, &d); st != 202 {
			t.Fatalf("test send: %d", st)
		}
		return c.waitDelivery(d.ID)
	}
	// Outside the 24-hour window: the approved template.
	if d := send(); d.Status != hub.DeliverySent {
		t.Fatalf("first send: %+v", d)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].Type != "template" || msgs[0].Template != "loyalty_update" || msgs[0].To != "14155550100" {
		t.Fatalf("outside the window: %+v", msgs)
	}
	// The customer writes: the window opens and a plain text goes out.
	st, _, err := fake.PostWebhook(context.Background(), nil, hookURL, whatsappfake.MessagesWebhook("1055",
		whatsappfake.Inbound{From: "14155550100", Name: "Ann", Text: "hi"}))
	if err != nil || st != 200 {
		t.Fatalf("inbound message: %d %v", st, err)
	}
	fake.OpenWindow("14155550100")
	d := send()
	if msgs = fake.Messages(); len(msgs) != 2 || msgs[1].Type != "text" || msgs[1].Text != "5 stamps to go" {
		t.Fatalf("inside the window: %+v", msgs)
	}
	// Statuses move the ledger forward only; a forged call changes nothing.
	forged := whatsappfake.StatusesWebhook("1055", whatsappfake.Status{ID: d.ProviderMessageID, Status: "failed", RecipientID: "14155550100", ErrorCode: 131026, ErrorTitle: "x"})
	resp, err := http.Post(hookURL, "application/json", bytes.NewReader(forged))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("unsigned status call: %d, want 401", resp.StatusCode)
	}
	for _, s := range []string{"delivered", "read", "delivered"} {
		st, _, err := fake.PostWebhook(context.Background(), nil, hookURL, whatsappfake.StatusesWebhook("1055",
			whatsappfake.Status{ID: d.ProviderMessageID, Status: s, RecipientID: "14155550100"}))
		if err != nil || st != 200 {
			t.Fatalf("status %s: %d %v", s, st, err)
		}
	}
	var after hub.Delivery
	c.call("GET", "/v1/deliveries/"+d.ID, nil, &after)
	if after.Status != hub.DeliverySent || after.ProviderStatus != hub.ProviderRead {
		t.Errorf("after statuses: %+v, want sent and read", after)
	}
	// An undeliverable number fails and is not tried again.
	fake.MarkUndeliverable("14155550100")
	if d := send(); d.Status != hub.DeliveryFailed {
		t.Fatalf("undeliverable: %+v", d)
	}
	if d := send(); d.Error != hub.ReasonUnreachable || len(fake.Messages()) != 2 {
		t.Errorf("after undeliverable: %+v, %d messages", d, len(fake.Messages()))
	}
}
