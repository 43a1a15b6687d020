//go:build bench

package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/7loc/hub/channels"
	"github.com/7loc/hub/channels/email"
	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/channels/gateway"
	"github.com/7loc/hub/channels/gateway/gatewayfake"
	"github.com/7loc/hub/channels/telegram"
	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/channels/viber"
	"github.com/7loc/hub/channels/viber/viberfake"
	"github.com/7loc/hub/channels/whatsapp"
	"github.com/7loc/hub/channels/whatsapp/whatsappfake"
	"github.com/7loc/hub/hub"
)

// runBenchChannels measures (1) how many messages a second each sender
// sustains against its local fake with no provider limit, next to a bare
// HTTP round trip on the same client, and (2) that the shared limits hold:
// Telegram at 30/s per bot and 1/s per chat across several `hub work`
// processes, over a window.
func runBenchChannels(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	var clients, workers, hotShare int
	var duration, window time.Duration
	var skipSenders, skipLimits bool
	cfg, _, err := parseConfig("bench channels", args, lookup, func(fs *flag.FlagSet) {
		fs.IntVar(&clients, "clients", 16, "concurrent senders in the throughput runs")
		fs.DurationVar(&duration, "duration", 5*time.Second, "length of each throughput run")
		fs.IntVar(&workers, "workers", 4, "worker processes in the limit run")
		fs.DurationVar(&window, "window", time.Minute, "measured window of the limit run (after 5 s of warm-up)")
		fs.IntVar(&hotShare, "hot-every", 10, "every n-th queued message goes to the one hot chat (10: 3/s offered to a 1/s chat)")
		fs.BoolVar(&skipSenders, "skip-senders", false, "skip the throughput runs")
		fs.BoolVar(&skipLimits, "skip-limits", false, "skip the limit run")
	})
	if err != nil {
		return err
	}
	if !skipSenders {
		if err := benchSenders(ctx, stdout, clients, duration); err != nil {
			return err
		}
	}
	if !skipLimits {
		return benchLimits(ctx, cfg, stdout, stderr, workers, window, hotShare)
	}
	return nil
}

type senderCase struct {
	name  string
	build func() (channels.Sender, func(i int) hub.Message, func(), error)
}

func benchSenders(ctx context.Context, stdout io.Writer, clients int, d time.Duration) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}
	msg := func(to string, i int) hub.Message {
		return hub.Message{DeliveryID: fmt.Sprintf("dlv_bench%020d", i), Channel: "x", To: to, Text: "Your 5th stamp & a free coffee <3", Subject: "Stamps"}
	}
	cases := []senderCase{
		{"bare HTTP round trip (reference)", func() (channels.Sender, func(int) hub.Message, func(), error) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				_, _ = w.Write([]byte(`{"ok":true}`))
			}))
			return bareSender{url: srv.URL, client: client}, func(i int) hub.Message { return msg("", i) }, srv.Close, nil
		}},
		{"telegram (go-telegram-bot-api)", func() (channels.Sender, func(int) hub.Message, func(), error) {
			f := telegramfake.New()
			f.AddBot("1000:bench", "bench_bot")
			s, err := telegram.New(&hub.ChannelConfig{Provider: "telegram", Settings: map[string]string{"bot_username": "bench_bot"},
				Secrets: map[string]string{"bot_token": "1000:bench", "webhook_secret": "s"}}, telegram.Options{BaseURL: f.URL, Client: client})
			return s, func(i int) hub.Message { m := msg(strconv.Itoa(10000+i%500), i); m.Channel = "telegram"; return m }, f.Close, err
		}},
		{"whatsapp (Cloud API)", func() (channels.Sender, func(int) hub.Message, func(), error) {
			f := whatsappfake.New(whatsappfake.Config{PhoneNumberID: "1055", AccessToken: "t", AppSecret: "a", VerifyToken: "v"})
			s, err := whatsapp.New(f.ChannelConfig("b", "bench_template"), whatsapp.Options{BaseURL: f.URL, Client: client})
			return s, func(i int) hub.Message {
				m := msg(fmt.Sprintf("+1415555%04d", i%10000), i)
				m.Channel = "whatsapp"
				return m
			}, f.Close, err
		}},
		{"viber", func() (channels.Sender, func(int) hub.Message, func(), error) {
			f := viberfake.New()
			f.AddAccount("viber-token", "Bench", "benchuri")
			s, err := viber.New(&hub.ChannelConfig{Provider: "viber", Settings: map[string]string{"sender_name": "Bench", "uri": "benchuri"},
				Secrets: map[string]string{"auth_token": "viber-token"}}, viber.Options{BaseURL: f.URL, Client: client})
			return s, func(i int) hub.Message { m := msg(fmt.Sprintf("user%05d==", i%5000), i); m.Channel = "viber"; return m }, f.Close, err
		}},
		{"gateway (signed, idempotent)", func() (channels.Sender, func(int) hub.Message, func(), error) {
			f := gatewayfake.New(gatewayfake.Config{Secret: "bench-secret"})
			s, err := gateway.New(f.ChannelConfig("b", "whatsapp,telegram,viber"), gateway.Options{Client: client})
			return s, func(i int) hub.Message { m := msg("+14155550100", i); m.Channel = "whatsapp"; return m }, f.Close, err
		}},
		{"email (SMTP, one connection per message)", func() (channels.Sender, func(int) hub.Message, func(), error) {
			f, err := emailfake.New(emailfake.Options{})
			if err != nil {
				return nil, nil, func() {}, err
			}
			s, err := email.New(f.ChannelConfig("b"), email.Options{})
			return s, func(i int) hub.Message { m := msg(fmt.Sprintf("c%d@example.com", i), i); m.Channel = "email"; return m }, func() { _ = f.Close() }, err
		}},
	}
	fmt.Fprintf(stdout, "\n### Senders against their fakes (%d concurrent senders, %s each, no provider limit)\n\n", clients, d)
	fmt.Fprintln(stdout, "| sender | messages/s | p50 | p99 | errors | ÷ bare HTTP |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|")
	var bare float64
	for _, c := range cases {
		s, next, stop, err := c.build()
		if err != nil {
			stop()
			return fmt.Errorf("%s: %w", c.name, err)
		}
		rate, p50, p99, errs := driveSender(ctx, s, next, clients, d)
		stop()
		if bare == 0 {
			bare = rate
		}
		fmt.Fprintf(stdout, "| %s | %.0f | %s | %s | %d | %.2f |\n", c.name, rate, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), errs, rate/bare)
	}
	return nil
}

// bareSender posts the message to a handler that answers at once: the
// floor of an HTTP provider call on this machine.
type bareSender struct {
	url    string
	client *http.Client
}

func (b bareSender) Send(ctx context.Context, m hub.Message) (hub.Receipt, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", b.url, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		return hub.Receipt{}, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return hub.Receipt{}, nil
}

func (bareSender) Limits(hub.Message) []hub.RateLimit { return nil }

func driveSender(ctx context.Context, s channels.Sender, next func(int) hub.Message, clients int, d time.Duration) (float64, time.Duration, time.Duration, int64) {
	var n, errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for rctx.Err() == nil {
				i := int(n.Add(1))
				t0 := time.Now()
				if _, err := s.Send(context.WithoutCancel(rctx), next(i)); err != nil {
					errs.Add(1)
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[int(math.Min(float64(len(lat)-1), p*float64(len(lat))))]
	}
	return float64(len(lat)) / elapsed.Seconds(), pct(0.5), pct(0.99), errs.Load()
}

// benchLimits queues a Telegram backlog for many chats and one hot chat,
// lets `workers` separate `hub work` processes send it through the shared
// Redis limiter to the Telegram fake, and checks the rates the fake saw.
func benchLimits(ctx context.Context, cfg *config, stdout, stderr io.Writer, workers int, window time.Duration, hot int) error {
	if cfg.RedisURL == "" {
		return errors.New("bench channels needs HUB_REDIS_URL: the limit run spans several processes")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fake := telegramfake.New()
	defer fake.Close()
	fake.AddBot("2000:limits", "limits_bot")
	if cfg.SecretKey == "" {
		key := make([]byte, hub.SecretKeySize)
		for i := range key {
			key[i] = byte(i * 7)
		}
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	}
	cfg.TelegramURL = fake.URL
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	biz, err := a.svc.CreateBusiness(ctx, hub.BusinessInput{Name: "Limits " + cfg.QueuePrefix})
	if err != nil {
		return err
	}
	if _, err := a.svc.PutChannelConfig(ctx, biz.ID, hub.ChannelTelegram, map[string]any{"bot_token": "2000:limits",
		"bot_username": "limits_bot", "rate_per_second": "30", "chat_rate_per_second": "1"}); err != nil {
		return err
	}
	tpl, err := a.svc.CreateCardTemplate(ctx, biz.ID, hub.CardTemplateInput{Name: "C", Goals: []hub.GoalInput{{Stamps: 5, Reward: hub.RewardInput{Title: "R"}}}})
	if err != nil {
		return err
	}
	staff, err := a.svc.EnsureKey(ctx, biz.Name, "bench", nil)
	if err != nil {
		return err
	}
	pr, err := a.svc.Authenticate(ctx, staff.Key)
	if err != nil {
		return err
	}
	const chats = 100
	total := int(float64(30) * (window.Seconds() + 5) * 1.3)
	customers := make([]string, chats+1)
	for i := range customers {
		e := fmt.Sprintf("c%d@limits.test", i)
		card, _, err := a.svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &e}})
		if err != nil {
			return err
		}
		link, err := a.svc.CreateLink(ctx, biz.ID, card.Customer.ID, hub.ChannelTelegram)
		if err != nil {
			return err
		}
		if err := a.svc.ApplyInbound(ctx, biz.ID, []hub.Inbound{{Type: hub.InboundLink, Channel: "telegram",
			Address: strconv.Itoa(5000 + i), Token: link.Token}}); err != nil {
			return err
		}
		customers[i] = card.Customer.ID
	}
	// Chat 5000 is the hot one, offered more than its 1/s all along; the
	// rest spread over the others (well under 1/s each).
	for i := 0; i < total; i++ {
		c := customers[1+i%chats]
		if i%hot == 0 {
			c = customers[0]
		}
		if _, _, err := a.svc.QueueMessage(ctx, hub.MessageRequest{BusinessID: biz.ID, Source: "bench:" + strconv.Itoa(i),
			CustomerID: c, Channel: hub.ChannelTelegram, Content: hub.MessageContent{Text: "Stamp " + strconv.Itoa(i)}}); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "queued %d messages (every %d-th to the hot chat); starting %d worker processes\n", total, hot, workers)
	env := append(os.Environ(), "HUB_DATABASE_URL="+cfg.DatabaseURL, "HUB_REDIS_URL="+cfg.RedisURL,
		"HUB_QUEUE_PREFIX="+cfg.QueuePrefix, "HUB_SECRET_KEY="+cfg.SecretKey, "HUB_TELEGRAM_API_URL="+fake.URL,
		"HUB_MIGRATE=false", "HUB_SCHEDULER=false", "HUB_WORKER_CONCURRENCY=8", "HUB_LOG_LEVEL=error")
	var procs []*exec.Cmd
	start := time.Now()
	for i := 0; i < workers; i++ {
		cmd := exec.CommandContext(ctx, exe, "work")
		cmd.Env, cmd.Stderr = env, stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		procs = append(procs, cmd)
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	from, to := start.Add(5*time.Second), start.Add(5*time.Second+window)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(to) + 500*time.Millisecond):
	}
	var all []time.Time
	for _, m := range fake.Sent() {
		all = append(all, m.At)
	}
	count := func(ts []time.Time) (n int, maxPerSec int) {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
		for i, t := range ts {
			if t.Before(from) || !t.Before(to) {
				continue
			}
			n++
			j := i
			for j < len(ts) && ts[j].Sub(t) < time.Second {
				j++
			}
			maxPerSec = max(maxPerSec, j-i)
		}
		return n, maxPerSec
	}
	botN, botMax := count(all)
	hotTimes := fake.ChatTimes("5000")

	hotN, hotMax := count(hotTimes)
	secs := window.Seconds()
	fmt.Fprintf(stdout, "\n### Shared limits across %d `hub work` processes (Telegram fake, %s window after 5 s)\n\n", workers, window)
	fmt.Fprintln(stdout, "| limit | configured | measured | deviation | most in any 1 s |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|")
	fmt.Fprintf(stdout, "| bot (all chats) | 30/s | %.2f/s (%d) | %+.1f %% | %d |\n", float64(botN)/secs, botN, (float64(botN)/secs/30-1)*100, botMax)
	fmt.Fprintf(stdout, "| hot chat | 1/s | %.2f/s (%d) | %+.1f %% | %d |\n", float64(hotN)/secs, hotN, (float64(hotN)/secs-1)*100, hotMax)
	fmt.Fprintf(stdout, "\nThe fake answered %d requests with 429 (it enforces no limit of its own here).\n", fake.RateLimited())
	return nil
}
