package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"golang.org/x/sync/errgroup"

	"github.com/7loc/hub/hub"
)

// devState is what `hub dev` remembers between runs in <data-dir>/dev.json,
// so that the demo key and admin token stay the same across restarts.
type devState struct {
	BusinessID string `json:"business_id"`
	TemplateID string `json:"template_id"`
	APIKey     string `json:"api_key"`
	AdminToken string `json:"admin_token"`
	SecretKey  string `json:"secret_key"`
	// OwnerEmail and OwnerPassword log in to the console of the demo business.
	OwnerEmail    string `json:"owner_email,omitempty"`
	OwnerPassword string `json:"owner_password,omitempty"`
}

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	cfg, fs, err := parseConfig("dev", args, lookup, nil)
	if err != nil {
		return err
	}
	cfg.applyRuntime(lookup)
	if !isSet(fs, lookup, "log-format") {
		cfg.LogFormat = "text"
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	statePath := filepath.Join(cfg.DataDir, "dev.json")
	state := readDevState(statePath)
	if cfg.AdminToken == "" {
		if state.AdminToken == "" {
			state.AdminToken = "dev_" + hub.RandomString("abcdefghijkmnpqrstuvwxyz23456789", 32)
		}
		cfg.AdminToken = state.AdminToken
	}
	if cfg.SecretKey == "" {
		if state.SecretKey == "" {
			key := make([]byte, hub.SecretKeySize)
			if _, err := rand.Read(key); err != nil {
				return err
			}
			state.SecretKey = base64.StdEncoding.EncodeToString(key)
		}
		cfg.SecretKey = state.SecretKey
	}
	// hub dev delivers webhooks to local receivers too.
	cfg.WebhookAllow = strings.Trim(cfg.WebhookAllow+",127.0.0.0/8,::1/128", ",")
	if cfg.RedisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("embedded redis: %w", err)
		}
		defer mr.Close()
		cfg.RedisURL = "redis://" + mr.Addr()
		log.Info("embedded Redis-compatible server (in memory) started", "addr", mr.Addr())
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := ensureDemo(ctx, a.svc, &state); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if err := ensureDemoOwner(ctx, a.svc, &state); err != nil {
		return fmt.Errorf("demo console login: %w", err)
	}
	if err := writeDevState(statePath, state); err != nil {
		return err
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	base := cfg.publicURL()
	fmt.Fprintf(stdout, `The hub is running at %s (Ctrl-C stops it).

Demo API key (business "Demo Café", login "demo"):
  %s
Operator token (HUB_ADMIN_TOKEN):
  %s
Business console: %s/console/login
  email %s, password %s

Try it:
  curl -s %s/v1/me -H "Authorization: Bearer %s"
  curl -s -X POST %s/v1/cards -H "Authorization: Bearer %s" -H "Content-Type: application/json" \
    -d '{"template_id":"%s","customer":{"email":"ann@example.com","name":"Ann"}}'
`, base, state.APIKey, state.AdminToken, base, state.OwnerEmail, state.OwnerPassword, base, state.APIKey, base, state.APIKey, state.TemplateID)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.serveHTTP(gctx, ln) })
	g.Go(func() error { return a.runWorkers(gctx, true) })
	g.Go(func() error { a.pollTelegram(gctx, state.BusinessID, 3*time.Second); return nil })
	err = g.Wait()
	log.Info("hub dev stopped")
	return err
}

// isSet reports whether a setting came from the command line or the environment.
func isSet(fs *flag.FlagSet, lookup func(string) (string, bool), name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	for _, s := range settings {
		if s.flag == name {
			if _, ok := lookup(s.env); ok {
				set = true
			}
		}
	}
	return set
}

func readDevState(path string) devState {
	var st devState
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(b, &st) // a damaged file just means new demo credentials
	}
	return st
}

func writeDevState(path string, st devState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// ensureDemo creates the demo business, location, card template, voucher
// template and API key unless the remembered key still works.
func ensureDemo(ctx context.Context, svc *hub.Service, st *devState) error {
	if st.APIKey != "" {
		if _, err := svc.Authenticate(ctx, st.APIKey); err == nil {
			return nil
		} else if hub.ErrorCode(err) != hub.EUnauthorized {
			return err
		}
	}
	b, err := svc.CreateBusiness(ctx, hub.BusinessInput{Name: "Demo Café", Timezone: ptr("Europe/Kyiv")})
	if err != nil {
		return err
	}
	if _, err := svc.CreateLocation(ctx, b.ID, hub.LocationInput{Name: "Main street"}); err != nil {
		return err
	}
	if _, err := svc.CreateStaff(ctx, b.ID, hub.StaffInput{Login: "demo", Name: ptr("Demo barista")}); err != nil {
		return err
	}
	tpl, err := svc.CreateCardTemplate(ctx, b.ID, hub.CardTemplateInput{
		Name: "Coffee card",
		Goals: []hub.GoalInput{
			{Stamps: 5, Reward: hub.RewardInput{Title: "Free espresso"}},
			{Stamps: 10, Reward: hub.RewardInput{Title: "Free cake", Description: ptr("Any cake from the counter")}},
		},
		Lottery: &hub.LotteryInput{Prizes: []hub.PrizeInput{{Title: "Free cookie", Weight: 1}}, LoseWeight: 4},
	})
	if err != nil {
		return err
	}
	if _, err := svc.CreateVoucherTemplate(ctx, b.ID, hub.VoucherTemplateInput{Title: "10% off", ValidDays: ptr(30)}); err != nil {
		return err
	}
	k, err := svc.CreateAPIKey(ctx, b.ID, hub.APIKeyInput{Login: "demo", Name: ptr("Demo key")})
	if err != nil {
		return err
	}
	if k.Key == "" {
		return errors.New("no key returned")
	}
	st.BusinessID, st.TemplateID, st.APIKey = b.ID, tpl.ID, k.Key
	return nil
}

func ptr[T any](v T) *T { return &v }
