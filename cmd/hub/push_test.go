package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/7loc/hub/channels/walletpush/apnsfake"
	"github.com/7loc/hub/channels/walletpush/googlefake"
	"github.com/7loc/hub/channels/walletpush/passcerts"
	"github.com/7loc/hub/hub"
)

// passCall calls the Apple Wallet web service as a device does.
func passCall(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "ApplePass "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestWalletPassRegistrationUpdateAndPush(t *testing.T) {
	apns := apnsfake.New()
	t.Cleanup(apns.Close)
	chain, err := passcerts.New("pass.test.cafe", "TEAM123456")
	if err != nil {
		t.Fatal(err)
	}
	c := newChannelApp(t, providerURLs{APNs: apns.URL(), apnsRoots: apns.CertPool()})
	if st := c.call("PUT", "/v1/channels/push", map[string]any{"apple_pass_type_id": "pass.test.cafe", "apple_team_id": "TEAM123456",
		"apple_certificate": chain.PassPEM, "apple_wwdr_certificate": chain.WWDRPEM}, nil); st != 200 {
		t.Fatalf("PUT push: %d", st)
	}
	var card hub.Card
	c.call("POST", "/v1/cards", map[string]any{"template_id": c.tpl, "customer": map[string]any{"email": "ann@example.com"}}, &card)
	token := c.a.svc.PassAuthToken(card.ID)
	device, pushToken := "device-lib-1", apnsfake.NewToken()
	reg := c.api.URL + "/passkit/v1/devices/" + device + "/registrations/pass.test.cafe/" + card.ID

	if st, _ := passCall(t, "POST", reg, "wrong-token-0123456789", map[string]string{"pushToken": pushToken}); st != 401 {
		t.Errorf("wrong token: %d, want 401", st)
	}
	if st, _ := passCall(t, "POST", reg, token, map[string]string{"pushToken": pushToken}); st != 201 {
		t.Fatalf("first registration: %d, want 201", st)
	}
	if st, _ := passCall(t, "POST", reg, token, map[string]string{"pushToken": pushToken}); st != 200 {
		t.Errorf("repeated registration: %d, want 200", st)
	}
	var events struct {
		Data []struct {
			Type string `json:"type"`
		} `json:"data"`
	}
	c.call("GET", "/v1/events?type=card_saved&card_id="+card.ID, nil, &events)
	if len(events.Data) != 1 {
		t.Errorf("card_saved events: %d, want 1", len(events.Data))
	}

	serials := c.api.URL + "/passkit/v1/devices/" + device + "/registrations/pass.test.cafe"
	st, body := passCall(t, "GET", serials, "", nil)
	var upd struct {
		SerialNumbers []string `json:"serialNumbers"`
		LastUpdated   string   `json:"lastUpdated"`
	}
	if err := json.Unmarshal(body, &upd); st != 200 || err != nil || len(upd.SerialNumbers) != 1 || upd.SerialNumbers[0] != card.ID {
		t.Fatalf("serials: %d %s", st, body)
	}
	if st, _ := passCall(t, "GET", serials+"?passesUpdatedSince="+upd.LastUpdated, "", nil); st != 204 {
		t.Errorf("nothing changed since the tag: %d, want 204", st)
	}

	// A PUSH: the offer goes on the pass, then the device gets the empty push.
	var d hub.Delivery
	if st := c.call("POST", "/v1/channels/push/test", map[string]any{"customer_id": card.Customer.ID, "text": "Double stamps today"}, &d); st != 202 {
		t.Fatalf("push: %d", st)
	}
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliverySent {
		t.Fatalf("push delivery: %+v", got)
	}
	pushes := apns.Accepted()
	if len(pushes) != 1 || pushes[0].Token != pushToken || pushes[0].Topic != "pass.test.cafe" || string(pushes[0].Payload) != "{}" {
		t.Fatalf("apns got %+v", pushes)
	}
	if st, body := passCall(t, "GET", serials+"?passesUpdatedSince="+upd.LastUpdated, "", nil); st != 200 || !bytes.Contains(body, []byte(card.ID)) {
		t.Errorf("after the push the pass is not listed as updated: %d %s", st, body)
	}
	st, pkpass := passCall(t, "GET", c.api.URL+"/passkit/v1/passes/pass.test.cafe/"+card.ID, token, nil)
	if st != 200 {
		t.Fatalf("latest pass: %d", st)
	}
	zr, err := zip.NewReader(bytes.NewReader(pkpass), int64(len(pkpass)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	for _, name := range []string{"pass.json", "manifest.json", "signature"} {
		if len(files[name]) == 0 {
			t.Errorf("the pass has no %s", name)
		}
	}
	if !bytes.Contains(files["pass.json"], []byte("Double stamps today")) || !bytes.Contains(files["pass.json"], []byte(token)) {
		t.Errorf("pass.json lacks the offer or the token: %s", files["pass.json"])
	}
	// APNs says the device is gone: the next push forgets it.
	apns.Unregister(pushToken)
	c.call("POST", "/v1/channels/push/test", map[string]any{"customer_id": card.Customer.ID, "text": "Last call"}, &d)
	c.waitDelivery(d.ID)
	c.call("POST", "/v1/channels/push/test", map[string]any{"customer_id": card.Customer.ID, "text": "Anyone?"}, &d)
	if got := c.waitDelivery(d.ID); got.Status != hub.DeliveryFailed || got.Error != hub.ReasonNoDevice {
		t.Errorf("after 410 the device is still registered: %+v", got)
	}
	if st, _ := passCall(t, "DELETE", reg, token, nil); st != 200 {
		t.Errorf("unregister: %d", st)
	}
}

func TestGoogleWalletSaveCallback(t *testing.T) {
	google := googlefake.New("3388")
	t.Cleanup(google.Close)
	c := newChannelApp(t, providerURLs{GoogleWallet: google.URL(), GoogleToken: google.TokenURL()})
	var env struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if st := c.call("PUT", "/v1/channels/push", map[string]any{"google_issuer_id": "3388", "google_class_id": "loyalty",
		"google_service_account": `{"type":"service_account"}`}, &env); st != 422 {
		t.Errorf("an unusable service account was stored: %d %+v", st, env)
	}
	var view hub.ChannelConfigView
	if st := c.call("PUT", "/v1/channels/push", map[string]any{"google_issuer_id": "3388", "google_class_id": "loyalty",
		"google_service_account": google.ServiceAccountJSON()}, &view); st != 200 {
		t.Fatalf("PUT push: %d", st)
	}
	if view.InboundURL == nil {
		t.Fatalf("no callback URL in %+v", view)
	}
	var card hub.Card
	c.call("POST", "/v1/cards", map[string]any{"template_id": c.tpl, "customer": map[string]any{"email": "ann@example.com"}}, &card)
	body := func(event string) io.Reader {
		inner, _ := json.Marshal(map[string]string{"classId": "3388.loyalty", "objectId": "3388." + card.ID, "eventType": event})
		b, _ := json.Marshal(map[string]string{"signedMessage": string(inner), "protocolVersion": "ECv2SigningOnly"})
		return bytes.NewReader(b)
	}
	callback := c.api.URL + strings.TrimPrefix(*view.InboundURL, "https://hub.test")
	for _, tt := range []struct {
		url, event string
		want       int
	}{
		{c.api.URL + "/wallet/google/" + c.biz + "?token=forged", "save", 401},
		{callback, "save", 200},
		{callback, "save", 200}, // Google retries: still one card_saved
		{callback, "del", 200},
	} {
		resp, err := http.Post(tt.url, "application/json", body(tt.event))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.event, tt.url, resp.StatusCode, tt.want)
		}
	}
	var events struct {
		Data []json.RawMessage `json:"data"`
	}
	c.call("GET", "/v1/events?type=card_saved&card_id="+card.ID, nil, &events)
	var cd hub.CustomerDetail
	c.call("GET", "/v1/customers/"+card.Customer.ID, nil, &cd)
	if len(events.Data) != 1 || !cd.Consent["push"].Granted || cd.Consent["push"].Source != "wallet:google" {
		t.Errorf("card_saved events %d, push consent %+v", len(events.Data), cd.Consent["push"])
	}
}
