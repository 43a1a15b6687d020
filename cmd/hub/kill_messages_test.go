package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/7loc/hub/channels/telegram/telegramfake"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
)

// TestKilledWorkerSendsNoMessageTwice kills `hub work` twice while it sends a
// backlog of Telegram messages, restarts it, and checks that every message
// settles, none reaches a customer twice, and every one recorded as sent
// arrived. Messages caught mid-send are recorded unknown, never resent.
func TestKilledWorkerSendsNoMessageTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub binary")
	}
	dbURL := freshPostgresDatabase(t)
	rdb, real := redistest.Client(t)
	if !real {
		t.Skip("needs a real Redis shared between processes")
	}
	prefix := redistest.Prefix(t, rdb)
	fake := telegramfake.New()
	t.Cleanup(fake.Close)
	fake.AddBot("777:kill", "kill_bot")
	fake.SetDelay(20 * time.Millisecond)
	const secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	cfg := &config{DatabaseURL: dbURL, RedisURL: fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB),
		QueuePrefix: prefix, Migrate: true, SecretKey: secret, DatabaseMaxConns: 4, TelegramURL: fake.URL}
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	ctx := context.Background()
	k, err := a.svc.EnsureKey(ctx, "Kill Café", "till", nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, _ := a.svc.Authenticate(ctx, k.Key)
	biz := pr.Business.ID
	if _, err := a.svc.PutChannelConfig(ctx, biz, hub.ChannelTelegram, map[string]any{"bot_token": "777:kill",
		"bot_username": "kill_bot", "rate_per_second": "1000", "chat_rate_per_second": "1000"}); err != nil {
		t.Fatal(err)
	}
	tpl, _ := a.svc.CreateCardTemplate(ctx, biz, hub.CardTemplateInput{Name: "C", Goals: []hub.GoalInput{{Stamps: 5, Reward: hub.RewardInput{Title: "R"}}}})
	var customers []string
	for i := 0; i < 20; i++ {
		e := fmt.Sprintf("k%d@example.com", i)
		card, _, err := a.svc.IssueCard(ctx, pr, hub.IssueCardInput{TemplateID: tpl.ID, Customer: hub.CustomerInput{Email: &e}})
		if err != nil {
			t.Fatal(err)
		}
		link, _ := a.svc.CreateLink(ctx, biz, card.Customer.ID, hub.ChannelTelegram)
		if err := a.svc.ApplyInbound(ctx, biz, []hub.Inbound{{Type: hub.InboundLink, Channel: "telegram", Address: strconv.Itoa(100 + i), Token: link.Token}}); err != nil {
			t.Fatal(err)
		}
		customers = append(customers, card.Customer.ID)
	}
	const n = 300
	ids := map[string]string{} // delivery id -> text
	for i := 0; i < n; i++ {
		text := "message " + strconv.Itoa(i)
		d, _, err := a.svc.QueueMessage(ctx, hub.MessageRequest{BusinessID: biz, Source: "kill:" + strconv.Itoa(i),
			CustomerID: customers[i%len(customers)], Channel: hub.ChannelTelegram, Content: hub.MessageContent{Text: text}})
		if err != nil {
			t.Fatal(err)
		}
		ids[d.ID] = text
	}

	bin := buildHub(t)
	env := []string{"HUB_DATABASE_URL=" + dbURL, "HUB_REDIS_URL=" + cfg.RedisURL, "HUB_QUEUE_PREFIX=" + prefix,
		"HUB_SECRET_KEY=" + secret, "HUB_TELEGRAM_API_URL=" + fake.URL, "HUB_LOG_LEVEL=warn", "HUB_WORKER_CONCURRENCY=8"}
	waitSent := func(least int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(fake.Sent()) < least {
			if time.Now().After(deadline) {
				t.Fatalf("only %d messages sent, waiting for %d", len(fake.Sent()), least)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w := start(t, bin, env, "work")
	waitSent(60)
	kill(t, w)
	w = start(t, bin, env, "work")
	waitSent(len(fake.Sent()) + 60)
	kill(t, w)
	w = start(t, bin, env, "work")
	t.Cleanup(func() { kill(t, w) })

	// Everything settles: tasks of the killed workers come back when their
	// lease runs out.
	deadline := time.Now().Add(120 * time.Second)
	var sent, unknown int
	for {
		sent, unknown = 0, 0
		pending := 0
		var cursor string
		for {
			page, next, err := a.svc.Deliveries(ctx, hub.DeliveryFilter{BusinessID: biz, Page: hub.Page{Limit: 100, Cursor: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page {
				switch d.Status {
				case hub.DeliverySent:
					sent++
				case hub.DeliveryUnknown:
					unknown++
				case hub.DeliveryFailed:
					t.Fatalf("delivery %s failed: %s", d.ID, d.Error)
				default:
					pending++
				}
			}
			if next == nil {
				break
			}
			cursor = *next
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still pending or sending after 120 s\n%s", pending, w.output)
		}
		time.Sleep(200 * time.Millisecond)
	}
	received := map[string]int{}
	for _, m := range fake.Sent() {
		received[m.Text]++
	}
	for text, times := range received {
		if times > 1 {
			t.Errorf("%q reached the customer %d times", text, times)
		}
	}
	var cursor string
	for {
		page, next, _ := a.svc.Deliveries(ctx, hub.DeliveryFilter{BusinessID: biz, Page: hub.Page{Limit: 100, Cursor: cursor}})
		for _, d := range page {
			if d.Status == hub.DeliverySent && received[ids[d.ID]] != 1 {
				t.Errorf("delivery %s is recorded sent but never arrived", d.ID)
			}
		}
		if next == nil {
			break
		}
		cursor = *next
	}
	if sent+unknown != n || unknown > 16 {
		t.Errorf("sent %d + unknown %d, want %d with at most 16 (two kills × 8 workers) unknown", sent, unknown, n)
	}
	t.Logf("%d messages: %d sent, %d unknown (in flight when a worker was killed), %d received", n, sent, unknown, len(fake.Sent()))
}
