package walletpush_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/walletpush/apnsfake"
	"github.com/7loc/hub/hub"
	"github.com/golang-jwt/jwt/v4"
	"github.com/google/go-cmp/cmp"
)

func TestSaveURL(t *testing.T) {
	e := newEnv(t)
	link, err := e.s.SaveURL("crd_1", "https://shop.example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := strings.CutPrefix(link, "https://pay.google.com/gp/v/save/")
	if !ok {
		t.Fatalf("link %q", link)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, claims, func(tk *jwt.Token) (any, error) {
		if tk.Method != jwt.SigningMethodRS256 {
			t.Errorf("alg %v", tk.Header["alg"])
		}
		return e.google.PublicKey(), nil
	})
	if err != nil || !tok.Valid {
		t.Fatalf("JWT does not verify with the service account key: %v", err)
	}
	iss := e.google.IssuerID()
	delete(claims, "iat")
	want := jwt.MapClaims{
		"iss":     e.google.ClientEmail(),
		"aud":     "google",
		"typ":     "savetowallet",
		"origins": []any{"https://shop.example.com"},
		"payload": map[string]any{"loyaltyObjects": []any{map[string]any{
			"id": iss + ".crd_1", "classId": iss + ".loyalty", "state": "ACTIVE",
		}}},
	}
	if d := cmp.Diff(want, claims); d != "" {
		t.Errorf("claims (-want +got):\n%s", d)
	}

	for _, bad := range []string{"", "crd/1", "a b"} {
		if _, err := e.s.SaveURL(bad); hub.ErrorCode(err) != hub.EValidation {
			t.Errorf("SaveURL(%q) err = %v, want validation", bad, err)
		}
	}
	apple, err := walletpush.New(appleConfig(testChain(t)), walletpush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apple.SaveURL("crd_1"); !errors.Is(err, walletpush.ErrGoogleNotConfigured) {
		t.Errorf("err = %v, want ErrGoogleNotConfigured", err)
	}
}

func TestSendConcurrent(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			devices := []hub.PassDevice{{DeviceID: "d", PushToken: apnsfake.NewToken()}, {DeviceID: "google"}}
			_, err := e.s.Send(ctxTimeout(t, 20*time.Second), hub.Message{DeliveryID: "dlv_" + string(rune('a'+i)), To: "crd_1", Text: "hi", Devices: devices})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(e.apns.Accepted()); got != 20 {
		t.Errorf("%d pushes, want 20", got)
	}
	if got := len(e.google.Messages()); got != 20 {
		t.Errorf("%d messages, want 20", got)
	}
	if n := e.google.TokenCalls(); n != 1 {
		t.Errorf("%d token calls, want 1", n)
	}
}
