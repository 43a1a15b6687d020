package walletpush_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/7loc/hub/channels/walletpush"
	"github.com/7loc/hub/channels/walletpush/googlefake"
	"github.com/7loc/hub/channels/walletpush/passcerts"
	"github.com/7loc/hub/hub"
	"github.com/google/go-cmp/cmp"
)

func TestNew(t *testing.T) {
	chain := testChain(t)
	other, err := passcerts.NewWithKey("pass.com.example.other", testTeam, passcerts.ECPKCS8)
	if err != nil {
		t.Fatal(err)
	}
	g := googlefake.New("")
	defer g.Close()
	both := merge(appleConfig(chain), googleConfig(g))

	tests := []struct {
		name       string
		change     func(c *hub.ChannelConfig)
		wantApple  bool
		wantGoogle bool
		// wantFields are the fields that must carry a problem.
		wantFields []string
	}{
		{name: "both", wantApple: true, wantGoogle: true},
		{name: "apple only", change: func(c *hub.ChannelConfig) {
			delete(c.Settings, "google_issuer_id")
			delete(c.Settings, "google_class_id")
			delete(c.Secrets, "google_service_account")
		}, wantApple: true},
		{name: "google only", change: func(c *hub.ChannelConfig) {
			delete(c.Settings, "apple_pass_type_id")
			delete(c.Settings, "apple_team_id")
			delete(c.Settings, "apple_wwdr_certificate")
			delete(c.Secrets, "apple_certificate")
		}, wantGoogle: true},
		{name: "google class with issuer prefix", change: func(c *hub.ChannelConfig) {
			c.Settings["google_class_id"] = g.IssuerID() + ".loyalty"
		}, wantApple: true, wantGoogle: true},
		{name: "neither", change: func(c *hub.ChannelConfig) {
			c.Settings, c.Secrets = map[string]string{"rate_per_second": "5"}, nil
		}, wantFields: []string{"apple_pass_type_id", "google_issuer_id"}},
		{name: "half apple", change: func(c *hub.ChannelConfig) { delete(c.Secrets, "apple_certificate") },
			wantFields: []string{"apple_certificate"}},
		{name: "half google", change: func(c *hub.ChannelConfig) { delete(c.Settings, "google_class_id") },
			wantFields: []string{"google_class_id"}},
		{name: "bad pass type id", change: func(c *hub.ChannelConfig) { c.Settings["apple_pass_type_id"] = "com.example" },
			wantFields: []string{"apple_pass_type_id"}},
		{name: "bad team id", change: func(c *hub.ChannelConfig) { c.Settings["apple_team_id"] = "abc" },
			wantFields: []string{"apple_team_id"}},
		{name: "certificate of another pass type", change: func(c *hub.ChannelConfig) { c.Secrets["apple_certificate"] = other.PassPEM },
			wantFields: []string{"apple_certificate", "apple_wwdr_certificate"}},
		{name: "no key", change: func(c *hub.ChannelConfig) { c.Secrets["apple_certificate"] = chain.CertPEM },
			wantFields: []string{"apple_certificate"}},
		{name: "garbage certificate", change: func(c *hub.ChannelConfig) { c.Secrets["apple_certificate"] = "hello" },
			wantFields: []string{"apple_certificate"}},
		{name: "wrong wwdr", change: func(c *hub.ChannelConfig) { c.Settings["apple_wwdr_certificate"] = other.WWDRPEM },
			wantFields: []string{"apple_wwdr_certificate"}},
		{name: "issuer not numeric", change: func(c *hub.ChannelConfig) { c.Settings["google_issuer_id"] = "issuer" },
			wantFields: []string{"google_issuer_id"}},
		{name: "service account not json", change: func(c *hub.ChannelConfig) { c.Secrets["google_service_account"] = "{" },
			wantFields: []string{"google_service_account"}},
		{name: "service account of another type", change: func(c *hub.ChannelConfig) {
			c.Secrets["google_service_account"] = `{"type":"authorized_user","client_email":"a@b","private_key":"x"}`
		}, wantFields: []string{"google_service_account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := merge(both, &hub.ChannelConfig{})
			if tt.change != nil {
				tt.change(cfg)
			}
			s, err := walletpush.New(cfg, walletpush.Options{})
			if tt.wantFields != nil {
				var he *hub.Error
				if !errors.As(err, &he) || he.Code != hub.EValidation {
					t.Fatalf("err = %v, want a validation error", err)
				}
				for _, f := range tt.wantFields {
					if he.Fields[f] == "" {
						t.Errorf("no problem for %s in %v", f, he.Fields)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Apple() != tt.wantApple || s.Google() != tt.wantGoogle {
				t.Errorf("Apple() = %v, Google() = %v; want %v, %v", s.Apple(), s.Google(), tt.wantApple, tt.wantGoogle)
			}
		})
	}
}

func TestNewNoSecretsInErrors(t *testing.T) {
	chain := testChain(t)
	cfg := appleConfig(chain)
	cfg.Settings["apple_team_id"] = "bad"
	_, err := walletpush.New(cfg, walletpush.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	var he *hub.Error
	errors.As(err, &he)
	for _, v := range he.Fields {
		if strings.Contains(v, "PRIVATE KEY") {
			t.Errorf("problem leaks the key: %q", v)
		}
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t)
	iss := e.google.IssuerID()
	tests := []struct {
		name    string
		s       *walletpush.Sender
		devices []hub.PassDevice
		want    []hub.RateLimit
	}{
		{"apple device", e.s, []hub.PassDevice{{DeviceID: "dev1", PushToken: "aa"}},
			[]hub.RateLimit{{Key: "push:" + testPassType, PerSecond: 50, Burst: 1}}},
		{"google device", e.s, []hub.PassDevice{{DeviceID: "dev1", PushToken: "aa"}, {DeviceID: "google"}},
			[]hub.RateLimit{
				{Key: "push:" + testPassType, PerSecond: 50, Burst: 1},
				{Key: "google:" + iss + ".crd_1", PerSecond: 3.0 / 86400, Burst: 3},
			}},
		{"google only sender", googleOnlyOn(t, e.google, "7"), []hub.PassDevice{{DeviceID: "google"}},
			[]hub.RateLimit{
				{Key: "push:" + iss, PerSecond: 7, Burst: 1},
				{Key: "google:" + iss + ".crd_1", PerSecond: 3.0 / 86400, Burst: 3},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.Limits(hub.Message{Channel: hub.ChannelPush, To: "crd_1", Devices: tt.devices})
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Limits (-want +got):\n%s", d)
			}
		})
	}
}

func googleOnlyOn(t *testing.T, g *googlefake.Server, rate string) *walletpush.Sender {
	t.Helper()
	cfg := googleConfig(g)
	cfg.Settings["rate_per_second"] = rate
	s, err := walletpush.New(cfg, options(nil, g))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
