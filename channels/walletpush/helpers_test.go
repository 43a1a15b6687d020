package walletpush_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/walletpush/apnsfake"
	"github.com/7loc/hub/channels/walletpush/googlefake"
	"github.com/7loc/hub/channels/walletpush/passcerts"
	"github.com/7loc/hub/hub"
)

const (
	testPassType = "pass.com.example.loyalty"
	testTeam     = "ABCDE12345"
)

var (
	chainOnce sync.Once
	chainVal  *passcerts.Chain
	chainErr  error
)

// testChain returns a chain shared by the tests (RSA key generation is slow).
func testChain(t *testing.T) *passcerts.Chain {
	t.Helper()
	chainOnce.Do(func() { chainVal, chainErr = passcerts.New(testPassType, testTeam) })
	if chainErr != nil {
		t.Fatal(chainErr)
	}
	return chainVal
}

func appleConfig(c *passcerts.Chain) *hub.ChannelConfig {
	return &hub.ChannelConfig{
		BusinessID: "biz_1",
		Provider:   hub.ChannelPush,
		Settings: map[string]string{
			"apple_pass_type_id":     testPassType,
			"apple_team_id":          testTeam,
			"apple_wwdr_certificate": c.WWDRPEM,
		},
		Secrets: map[string]string{"apple_certificate": c.PassPEM},
	}
}

func googleConfig(g *googlefake.Server) *hub.ChannelConfig {
	return &hub.ChannelConfig{
		BusinessID: "biz_1",
		Provider:   hub.ChannelPush,
		Settings: map[string]string{
			"google_issuer_id": g.IssuerID(),
			"google_class_id":  "loyalty",
		},
		Secrets: map[string]string{"google_service_account": g.ServiceAccountJSON()},
	}
}

// merge returns a config with the fields of both.
func merge(a, b *hub.ChannelConfig) *hub.ChannelConfig {
	out := &hub.ChannelConfig{BusinessID: a.BusinessID, Provider: a.Provider, Settings: map[string]string{}, Secrets: map[string]string{}}
	for _, c := range []*hub.ChannelConfig{a, b} {
		for k, v := range c.Settings {
			out.Settings[k] = v
		}
		for k, v := range c.Secrets {
			out.Secrets[k] = v
		}
	}
	return out
}

// env is a Sender wired to both fakes.
type env struct {
	apns   *apnsfake.Server
	google *googlefake.Server
	s      *walletpush.Sender
}

func newEnv(t *testing.T) *env {
	t.Helper()
	a := apnsfake.New()
	t.Cleanup(a.Close)
	g := googlefake.New("")
	t.Cleanup(g.Close)
	s, err := walletpush.New(merge(appleConfig(testChain(t)), googleConfig(g)), options(a, g))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{apns: a, google: g, s: s}
}

func options(a *apnsfake.Server, g *googlefake.Server) walletpush.Options {
	var o walletpush.Options
	if a != nil {
		o.APNsURL, o.APNsRootCAs = a.URL(), a.CertPool()
	}
	if g != nil {
		o.GoogleURL, o.GoogleTokenURL = g.URL(), g.TokenURL()
	}
	return o
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// sendErr asserts err is a *hub.SendError and returns it.
func sendErr(t *testing.T, err error) *hub.SendError {
	t.Helper()
	var se *hub.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *hub.SendError", err, err)
	}
	return se
}

// googleOnly returns a Google-only Sender on a fake.
func googleOnly(t *testing.T) *walletpush.Sender {
	t.Helper()
	g := googlefake.New("")
	t.Cleanup(g.Close)
	s, err := walletpush.New(googleConfig(g), options(nil, g))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
