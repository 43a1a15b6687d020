package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/console"
)

// consoleOptions configures `hub bench console`.
type consoleOptions struct {
	db         string
	customers  int
	campaigns  int
	recipients int
	sent       int
	attempts   int
	others     int
	requests   int
}

// consoleFixture is what the bench seeded for one business.
type consoleFixture struct {
	businessID string
	customers  []string
	campaigns  []string // in id order
	big        string   // the sent campaign with the most recipients
	sending    string   // a campaign still sending to as many, if sent >= 2
	draft      string
	template   string
	automation string
	hook       string
	attempts   []string // the hook's delivery attempts, in id order
	token      string   // the owner's session
}

// consolePage is one request of the bench.
type consolePage struct {
	name, method, path string
	form               url.Values
	htmx               bool
	// onDemand marks a computation the owner asks for by a button (the
	// exact audience count), shown but not held to the 50 ms of a page.
	onDemand bool
}

// consoleResult is one page's measurement: server times, sorted.
type consoleResult struct {
	page   consolePage
	times  []time.Duration
	first  time.Duration // the first request in the process, unmeasured
	status int
	bytes  int
}

func (r consoleResult) pct(p float64) time.Duration {
	return r.times[min(len(r.times)-1, int(p*float64(len(r.times))))]
}

// consoleLimit is the bound on a page's p95 server time.
const consoleLimit = 50 * time.Millisecond

// runBenchConsole seeds a business with many customers (each with a card),
// campaigns (some sent, one to many recipients), message templates,
// automations and webhooks with a long delivery log, plus smaller other
// businesses in the same database, logs in as its owner and requests every
// console page N times, timing each at the server. It prints a Markdown
// table of the first request (a fresh process, unmeasured), p50, p95 and
// max per page.
func runBenchConsole(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	var o consoleOptions
	cfg, _, err := parseConfig("bench console", args, lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&o.db, "db", "sqlite", "sqlite (a temporary file) or postgres (HUB_DATABASE_URL, a fresh database)")
		fs.IntVar(&o.customers, "customers", 100_000, "customers of the measured business, each with a card")
		fs.IntVar(&o.campaigns, "campaigns", 1000, "campaigns of the measured business")
		fs.IntVar(&o.recipients, "recipients", 0, "recipients of its largest sent campaign, each with a delivery (0: every customer)")
		fs.IntVar(&o.sent, "sent", 10, "sent campaigns among them (the others to 1,000 recipients at most)")
		fs.IntVar(&o.attempts, "attempts", 20_000, "webhook delivery attempts in the log of its first hook")
		fs.IntVar(&o.others, "other-businesses", 2, "other businesses with a tenth of the data in the same database")
		fs.IntVar(&o.requests, "requests", 50, "measured requests per page")
	})
	if err != nil {
		return err
	}
	if err := benchTargets(cfg, "bench console", o.db, "", nil); err != nil {
		return err
	}
	if o.customers < 1 || o.campaigns < 2 || o.requests < 1 || o.sent < 1 || o.sent >= o.campaigns {
		return errors.New("--customers and --requests must be at least 1, --campaigns at least 2, --sent between 1 and --campaigns - 1")
	}
	if o.recipients <= 0 || o.recipients > o.customers {
		o.recipients = o.customers
	}
	cfg.applyRuntime(lookup)
	if cfg.SecretKey == "" {
		key := make([]byte, hub.SecretKeySize)
		for i := range key {
			key[i] = byte(i*7 + 3)
		}
		cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	}
	cfg.LogLevel, cfg.LogFormat, cfg.Migrate = "warn", "text", true
	a, cleanup, err := benchApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := openSeedDB(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.close()

	seedStart := time.Now()
	tag := cfg.QueuePrefix
	fx, err := seedConsoleBusiness(ctx, a, db, "Console "+tag, o.customers, o.campaigns, o.recipients, o.sent, o.attempts)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	for i := range o.others {
		if _, err := seedConsoleBusiness(ctx, a, db, fmt.Sprintf("Other %d %s", i, tag), max(1, o.customers/10),
			max(2, o.campaigns/10), max(1, o.recipients/10), 1, max(1, o.attempts/10)); err != nil {
			return fmt.Errorf("seed other business: %w", err)
		}
	}
	if err := db.analyze(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench: seeded in %s\n", time.Since(seedStart).Round(time.Millisecond))

	results, err := measureConsole(ctx, a, fx, consolePages(fx), o.requests)
	if err != nil {
		return err
	}
	writeConsoleTable(stdout, results, o, a.store.Dialect())
	return nil
}

// seedConsoleBusiness makes a business with staff and keys, an email
// channel, n customers with a card each, message templates, campaigns
// (sent ones with recipients and deliveries), webhooks with a delivery log
// and an owner logged in.
func seedConsoleBusiness(ctx context.Context, a *app, db *seedDB, name string, customers, campaigns, recipients, sent, attempts int) (*consoleFixture, error) {
	svc := a.svc
	k, err := svc.EnsureKey(ctx, name, "bench", nil)
	if err != nil {
		return nil, err
	}
	pr, err := svc.Authenticate(ctx, k.Key)
	if err != nil {
		return nil, err
	}
	b := pr.Business.ID
	fx := &consoleFixture{businessID: b}
	for i := range 5 {
		login := fmt.Sprintf("till%d", i)
		if _, err := svc.CreateStaff(ctx, b, hub.StaffInput{Login: login}); err != nil {
			return nil, err
		}
		if i%2 == 0 {
			if _, err := svc.CreateAPIKey(ctx, b, hub.APIKeyInput{Login: login}); err != nil {
				return nil, err
			}
		}
	}
	if _, err := svc.PutChannelConfig(ctx, b, hub.ChannelEmail,
		map[string]any{"host": "smtp.bench.example", "from": "hello@bench.example"}); err != nil {
		return nil, err
	}
	if _, err := svc.PutChannelConfig(ctx, b, hub.ChannelTelegram,
		map[string]any{"bot_token": "123:bench", "bot_username": "bench_bot"}); err != nil {
		return nil, err
	}
	tpl, err := svc.CreateCardTemplate(ctx, b, hub.CardTemplateInput{Name: "Coffee", Goals: []hub.GoalInput{
		{Stamps: 5, Reward: hub.RewardInput{Title: "Coffee"}}, {Stamps: 10, Reward: hub.RewardInput{Title: "Cake"}}}})
	if err != nil {
		return nil, err
	}

	// Customers with a card each, in bulk.
	fx.customers, err = db.insertCustomers(ctx, b, customers, customerRows{
		phone:   func(i int) string { return fmt.Sprintf("+1555%07d", i) },
		email:   func(i int) string { return fmt.Sprintf("guest%d@bench.example", i) },
		name:    func(i int) string { return fmt.Sprintf("Guest %d", i) },
		consent: []string{hub.ChannelEmail, hub.ChannelWhatsApp, hub.ChannelTelegram},
	})
	if err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	// Two customers in five linked a Telegram chat; one chat in 25 of
	// those blocked the bot (unreachable).
	linked := len(fx.customers) * 2 / 5
	err = db.insert(ctx, "customer_contacts", []string{"business_id", "customer_id", "channel", "address", "linked_at",
		"reachable", "unreachable_reason"}, linked, func(i int) []any {
		j := i/2*5 + i%2 // customers 0, 1, 5, 6, 10, 11, …
		reachable, reason := true, ""
		if i%25 == 0 {
			reachable, reason = false, "blocked"
		}
		return []any{b, fx.customers[j], hub.ChannelTelegram, strconv.Itoa(700000000 + j), time.Now().UTC(), reachable, reason}
	})
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	err = db.insert(ctx, "cards", []string{"id", "business_id", "template_id", "customer_id", "wallet_pass_id", "stamps",
		"stamps_total", "goal_index", "cycle", "status", "page_token", "created_at", "updated_at", "last_stamp_at"},
		customers, func(i int) []any {
			return []any{hub.NewID(hub.PrefixCard), b, tpl.ID, fx.customers[i], hub.NewID(hub.PrefixWalletPass), i % 10,
				i % 37, 0, 0, "active", hub.NewID("pt"), now, now, now.Add(-time.Duration(i%90) * 24 * time.Hour)}
		})
	if err != nil {
		return nil, fmt.Errorf("cards: %w", err)
	}

	// Message templates (besides the ready-made ones).
	for i := range 30 {
		n := fmt.Sprintf("Offer %d", i)
		mt, err := svc.CreateMessageTemplate(ctx, b, hub.MessageTemplateInput{Name: &n, Variants: []hub.MessageVariant{
			{Language: "en", Kind: hub.KindText, Text: "Hi {{ customer.name | default: \"friend\" }}, offer " + strconv.Itoa(i) + " at {{ business.name }}."},
			{Language: "en", Kind: hub.KindEmail, Subject: "Offer " + strconv.Itoa(i), Text: "Hi {{ customer.name }}",
				HTML: "<p>Hi {{ customer.name }}, offer " + strconv.Itoa(i) + "</p>"},
		}})
		if err != nil {
			return nil, fmt.Errorf("message template: %w", err)
		}
		if fx.template == "" {
			fx.template = mt.ID
		}
	}
	autos, _, err := svc.Automations(ctx, b, hub.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(autos) > 0 {
		fx.automation = autos[0].ID
	}

	// Campaigns: drafts, and the first `sent` ones sent.
	audience := json.RawMessage(`{"all":[{"field":"language","op":"eq","value":"en"},{"field":"stamps","op":"gte","value":1}]}`)
	for i := range campaigns {
		n := fmt.Sprintf("Campaign %d", i)
		c, err := svc.CreateCampaign(ctx, b, hub.CampaignInput{Name: &n, Audience: audience, TemplateID: &fx.template})
		if err != nil {
			return nil, fmt.Errorf("campaign: %w", err)
		}
		fx.campaigns = append(fx.campaigns, c.ID)
	}
	fx.big, fx.draft = fx.campaigns[0], fx.campaigns[len(fx.campaigns)-1]
	for i := range sent {
		n := recipients
		if i > 1 {
			n = min(1000, customers)
		}
		if i == 1 {
			fx.sending = fx.campaigns[i]
		}
		if err := seedSentCampaign(ctx, a, db, b, fx.campaigns[i], fx.customers[:n], now, i == 1); err != nil {
			return nil, fmt.Errorf("sent campaign: %w", err)
		}
	}
	slices.Sort(fx.campaigns)

	// Webhooks, the first with a long delivery log.
	for i := range 5 {
		u := fmt.Sprintf("https://hooks.bench.example/%d", i)
		h, _, err := svc.CreateHook(ctx, b, hub.HookInput{Event: hub.HookAllEvents, TargetURL: &u})
		if err != nil {
			return nil, fmt.Errorf("hook: %w", err)
		}
		if fx.hook == "" {
			fx.hook = h.ID
		}
	}
	fx.attempts = make([]string, attempts)
	for i := range fx.attempts {
		fx.attempts[i] = hub.NewID(hub.PrefixDelivery)
	}
	err = db.insert(ctx, "delivery_attempts", []string{"id", "business_id", "hook_id", "event_id", "attempt", "status_code",
		"duration_ms", "error", "response_body", "delivered", "at"}, attempts, func(i int) []any {
		code, errText, ok := 200, any(nil), true
		if i%10 == 0 {
			code, errText, ok = 500, "HTTP 500", false
		}
		return []any{fx.attempts[i], b, fx.hook, hub.NewID(hub.PrefixEvent), 1 + i%3, code, 40 + i%100, errText, "ok", ok,
			now.Add(-time.Duration(attempts-i) * time.Second)}
	})
	if err != nil {
		return nil, fmt.Errorf("delivery attempts: %w", err)
	}

	// The owner, logged in.
	email := "owner-" + strings.ToLower(strings.NewReplacer(" ", "-").Replace(name)) + "@bench.example"
	inv, err := svc.InviteOwner(ctx, b, hub.OwnerInput{Email: email})
	if err != nil {
		return nil, err
	}
	const pw = "bench-console-password-1"
	if _, err := svc.AcceptInvitation(ctx, inv.Token, pw); err != nil {
		return nil, err
	}
	sess, err := svc.LoginOwner(ctx, email, pw)
	if err != nil {
		return nil, err
	}
	fx.token = sess.Token
	return fx, nil
}

// seedSentCampaign gives a campaign a recipient and a sent (one in ten
// failed) email delivery per customer over ten minutes, and marks it sent
// with its final stats. With sending, the ten minutes end now, the last
// tenth of the deliveries is still pending and the campaign is sending
// (its stats and chart are counted live).
func seedSentCampaign(ctx context.Context, a *app, db *seedDB, businessID, id string, customers []string, now time.Time, sending bool) error {
	start := now.Add(-time.Hour)
	span := 10 * time.Minute
	if sending {
		start = now.Add(-span)
	}
	content := hub.MessageContent{Subject: "Offer", Text: "Hi"}
	stats := hub.CampaignStats{Audience: len(customers), Skipped: map[string]int{}}
	const batch = 5000
	for lo := 0; lo < len(customers); lo += batch {
		hi := min(lo+batch, len(customers))
		ds := make([]*hub.Delivery, 0, hi-lo)
		rs := make([]*hub.Recipient, 0, hi-lo)
		for i := lo; i < hi; i++ {
			at := start.Add(span * time.Duration(i) / time.Duration(len(customers)))
			d := &hub.Delivery{ID: hub.NewID(hub.PrefixDelivery), BusinessID: businessID, Source: hub.CampaignSource(id),
				CustomerID: customers[i], Channel: hub.ChannelEmail, Provider: hub.ChannelEmail, Status: hub.DeliverySent,
				Content: content, Attempts: 1, CreatedAt: at, UpdatedAt: at, SentAt: &at}
			switch {
			case sending && i >= len(customers)*9/10:
				d.Status, d.Provider, d.Attempts, d.SentAt = hub.DeliveryPending, "", 0, nil
			case i%10 == 9:
				d.Status, d.Error, d.SentAt = hub.DeliveryFailed, "rejected: 550", nil
				stats.Failed++
			default:
				stats.Sent++
			}
			ds = append(ds, d)
			rs = append(rs, &hub.Recipient{CampaignID: id, BusinessID: businessID, CustomerID: customers[i],
				Channel: hub.ChannelEmail, Status: hub.RecipientQueued, DeliveryID: &d.ID, CreatedAt: at})
		}
		err := a.store.Write(ctx, func(tx hub.Tx) error {
			if err := tx.CreateDeliveries(ctx, ds); err != nil {
				return err
			}
			if err := tx.CreateRecipients(ctx, rs); err != nil {
				return err
			}
			return tx.AddCampaignActivity(ctx, activityOf(businessID, id, ds))
		})
		if err != nil {
			return err
		}
	}
	if sending {
		return db.exec(ctx, "UPDATE campaigns SET status = ?, walked = ?, started_at = ?, recipients = ? WHERE id = ?",
			hub.CampaignStatusSending, true, start, len(customers), id)
	}
	raw, err := json.Marshal(stats)
	if err != nil {
		return err
	}
	return db.exec(ctx, "UPDATE campaigns SET status = ?, walked = ?, started_at = ?, finished_at = ?, stats = ?, recipients = ? WHERE id = ?",
		hub.CampaignStatusSent, true, start, start.Add(span), raw, len(customers), id)
}

// activityOf is what the service counts when ds end: the campaign's chart
// counters, per second.
func activityOf(businessID, campaignID string, ds []*hub.Delivery) []hub.ActivityDelta {
	var out []hub.ActivityDelta
	at := map[int64]int{}
	for _, d := range ds {
		var sec int64
		switch d.Status {
		case hub.DeliverySent:
			sec = d.SentAt.Unix()
		case hub.DeliveryFailed:
			sec = d.UpdatedAt.Unix()
		default:
			continue
		}
		i, ok := at[sec]
		if !ok {
			i = len(out)
			at[sec] = i
			out = append(out, hub.ActivityDelta{BusinessID: businessID, CampaignID: campaignID, Second: sec})
		}
		if d.Status == hub.DeliverySent {
			out[i].Sent++
		} else {
			out[i].Failed++
		}
	}
	return out
}

// consolePages lists the requests of the bench: every page, lists on their
// first and on a deep page, searches, one of each kind of item, the
// fragments htmx asks for.
func consolePages(fx *consoleFixture) []consolePage {
	deep := func(ids []string) string { return ids[len(ids)*9/10] }
	i := len(fx.customers) * 7 / 10
	email := fmt.Sprintf("guest%d@bench.example", i)
	phone := fmt.Sprintf("+1555%07d", i)
	preview := url.Values{"name": {"Offer 0"}, "variant": {"0"},
		"variants[0].language": {"en"}, "variants[0].kind": {"text"}, "variants[0].text": {"Hi {{ customer.name }}!"},
		"variants[1].language": {"en"}, "variants[1].kind": {"email"}, "variants[1].subject": {"Offer"},
		"variants[1].text": {"Hi"}, "variants[1].html": {"<p>Hi</p>"}}
	audience := url.Values{"rows": {"2"}, "match": {"all"},
		"cond.0.field": {"language"}, "cond.0.op": {"eq"}, "cond.0.value": {"en"},
		"cond.1.field": {"stamps"}, "cond.1.op": {"gte"}, "cond.1.value": {"3"}}
	pages := []consolePage{
		{name: "API keys", method: "GET", path: "/console/api-keys"},
		{name: "staff", method: "GET", path: "/console/staff"},
		{name: "webhooks", method: "GET", path: "/console/webhooks"},
		{name: "webhook log", method: "GET", path: "/console/webhooks/" + fx.hook},
		{name: "webhook log, deep page", method: "GET", path: "/console/webhooks/" + fx.hook + "?cursor=" + deep(fx.attempts)},
		{name: "settings", method: "GET", path: "/console/settings"},
		{name: "channels", method: "GET", path: "/console/channels"},
		{name: "channel (email)", method: "GET", path: "/console/channels/email"},
		{name: "customers", method: "GET", path: "/console/customers"},
		{name: "customers, deep page", method: "GET", path: "/console/customers?cursor=" + deep(fx.customers)},
		{name: "customers by email", method: "GET", path: "/console/customers?email=" + url.QueryEscape(email)},
		{name: "customers by phone", method: "GET", path: "/console/customers?phone=" + url.QueryEscape(phone)},
		{name: "customer", method: "GET", path: "/console/customers/" + fx.customers[i]},
		{name: "templates", method: "GET", path: "/console/templates"},
		{name: "template editor", method: "GET", path: "/console/templates/" + fx.template},
		{name: "template preview (htmx)", method: "POST", path: "/console/templates/" + fx.template + "/preview", form: preview, htmx: true},
		{name: "automations", method: "GET", path: "/console/automations"},
		{name: "automation", method: "GET", path: "/console/automations/" + fx.automation},
		{name: "campaigns", method: "GET", path: "/console/campaigns"},
		{name: "campaigns, deep page", method: "GET", path: "/console/campaigns?cursor=" + deep(fx.campaigns)},
		{name: "campaign composer", method: "GET", path: "/console/campaigns/new"},
		{name: "audience count (htmx, estimated)", method: "POST", path: "/console/campaigns/audience", form: audience, htmx: true},
		{name: "audience count (no JavaScript, estimated)", method: "POST", path: "/console/campaigns", form: withAction(audience, "count")},
		{name: "exact audience count (on demand)", method: "POST", path: "/console/campaigns", form: withAction(audience, "count-exact"), onDemand: true},
		{name: "campaign (sent, largest)", method: "GET", path: "/console/campaigns/" + fx.big},
		{name: "campaign progress (htmx)", method: "GET", path: "/console/campaigns/" + fx.big + "/progress", htmx: true},
		{name: "campaign (draft)", method: "GET", path: "/console/campaigns/" + fx.draft},
		{name: "campaign draft editor", method: "GET", path: "/console/campaigns/" + fx.draft + "/edit"},
	}
	if fx.sending != "" {
		pages = append(pages,
			consolePage{name: "campaign (sending, largest)", method: "GET", path: "/console/campaigns/" + fx.sending},
			consolePage{name: "campaign progress, sending (htmx)", method: "GET", path: "/console/campaigns/" + fx.sending + "/progress", htmx: true})
	}
	return pages
}

// timed records how long the handler took for each request; requests are
// sequential, so each answer's time is the next value.
type timed struct {
	h    http.Handler
	took chan time.Duration
}

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	t.took <- time.Since(start)
}

// measureConsole serves the console on loopback and requests each page
// `requests` times (after two unmeasured warm-up rounds), the pages in turn,
// as the fixture's owner.
func measureConsole(ctx context.Context, a *app, fx *consoleFixture, pages []consolePage, requests int) ([]consoleResult, error) {
	h, err := console.New(console.Config{Service: a.svc, Logger: a.log})
	if err != nil {
		return nil, err
	}
	t := &timed{h: h, took: make(chan time.Duration, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: t, ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	results := make([]consoleResult, len(pages))
	for round := -2; round < requests; round++ {
		for i, p := range pages {
			var body io.Reader
			if p.form != nil {
				body = strings.NewReader(p.form.Encode())
			}
			req, err := http.NewRequestWithContext(ctx, p.method, base+p.path, body)
			if err != nil {
				return nil, err
			}
			if p.form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if p.htmx {
				req.Header.Set("HX-Request", "true")
			}
			req.AddCookie(&http.Cookie{Name: console.CookieInsecure, Value: fx.token})
			resp, err := client.Do(req)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := <-t.took
			if resp.StatusCode != http.StatusOK {
				return nil, fmt.Errorf("%s %s: status %d", p.method, p.path, resp.StatusCode)
			}
			if round >= 0 {
				results[i].times = append(results[i].times, took)
			} else if round == -2 {
				results[i].first = took
			}
			results[i].page, results[i].status, results[i].bytes = p, resp.StatusCode, int(n)
		}
	}
	for i := range results {
		slices.Sort(results[i].times)
	}
	return results, nil
}

// writeConsoleTable prints the pages' server times as a Markdown table.
func writeConsoleTable(w io.Writer, results []consoleResult, o consoleOptions, dialect string) {
	fmt.Fprintf(w, "database=%s customers=%d campaigns=%d (sent %d, the largest to %d recipients) requests=%d per page, load %s\n\n",
		dialect, o.customers, o.campaigns, o.sent, o.recipients, o.requests, loadAvg())
	fmt.Fprintln(w, "| page | first | p50 | p95 | max | KiB | p95 ≤ 50 ms |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|")
	slow, pages := 0, 0
	for _, r := range results {
		ok := "yes"
		switch {
		case r.page.onDemand:
			ok = "on demand"
		case r.pct(0.95) > consoleLimit:
			ok, slow = "**no**", slow+1
		}
		if !r.page.onDemand {
			pages++
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f | %s |\n", r.page.name, ms(r.first), ms(r.pct(0.50)), ms(r.pct(0.95)),
			ms(r.times[len(r.times)-1]), float64(r.bytes)/1024, ok)
	}
	fmt.Fprintf(w, "\npages over 50 ms at p95: %d of %d\n", slow, pages)
}

// withAction returns a copy of form with the submit button's action.
func withAction(form url.Values, action string) url.Values {
	out := url.Values{"action": {action}}
	for k, v := range form {
		out[k] = v
	}
	return out
}
