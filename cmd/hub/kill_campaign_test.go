package main

import (
	"database/sql"
	"fmt"
	"mime"
	"testing"
	"time"

	"github.com/7loc/hub/channels/email/emailfake"
	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/tasks"
)

// TestKillCampaignTwiceReachesEveryoneOnce is the campaign engine's crash
// test: `hub work` is killed with SIGKILL twice in the middle of a
// 20,000-recipient campaign on PostgreSQL and Redis, and restarted each
// time. Every customer consented to email and the only provider is a real
// SMTP server in the test process (emailfake), which records every message
// it accepts.
//
// The customers are written straight into the database in one statement
// (the API would take minutes for 20,000); the channel, the campaign and its
// start go through `hub serve`'s API. The first worker is killed when about
// 20 % of the messages have arrived, the second at about 60 %, and the third
// finishes the campaign: it must reach `sent` with
//
//   - no address receiving the campaign twice,
//   - every recipient final: sent (arrived exactly once) or unknown (a
//     delivery in flight when a worker died: arrived at most once, never
//     resent); none failed, skipped, queued or sending,
//   - at most 2 kills × concurrency × parallel sends per chunk unknown,
//   - the campaign's stats adding up to the audience.
//
// It takes about two minutes however fast the workers send, because two
// waits of a minute follow a kill: the walk of the audience resumes only
// when the dead runner's campaign lease (hub.CampaignLease, 60 s) has run
// out and campaigns:tick starts another, and the send tasks a killed worker
// held come back only when asynq's recoverer (once a minute) finds their
// lease expired 30 s earlier; the campaign cannot end before the deliveries
// those tasks left in `sending` are settled. A smaller audience does not
// make it shorter, so -short skips it, like the other tests that build the
// binary.
func TestKillCampaignTwiceReachesEveryoneOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub binary; takes about two minutes")
	}
	const n = 20_000       // recipients
	const concurrency = 20 // HUB_WORKER_CONCURRENCY of the workers (the default)
	began := time.Now()
	phase := began
	lap := func(what string) {
		t.Helper()
		now := time.Now()
		t.Logf("%6.1fs %-44s (+%.1fs)", now.Sub(began).Seconds(), what, now.Sub(phase).Seconds())
		phase = now
	}

	dbURL := freshPostgresDatabase(t)
	rdb, real := redistest.Client(t)
	if !real {
		t.Skip("needs a real Redis shared between processes")
	}
	prefix := redistest.Prefix(t, rdb)
	smtp := emailfake.Start(t, emailfake.Options{})
	bin := buildHub(t)
	lap("hub built")

	addr := freePort(t)
	const secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	env := []string{
		"HUB_DATABASE_URL=" + dbURL,
		"HUB_REDIS_URL=" + fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB),
		"HUB_QUEUE_PREFIX=" + prefix, "HUB_ADDR=" + addr, "HUB_SECRET_KEY=" + secret,
		"HUB_LOG_LEVEL=warn", "HUB_RATE_LIMIT=0", fmt.Sprintf("HUB_WORKER_CONCURRENCY=%d", concurrency),
	}
	key := createKey(t, bin, env, "Kill Campaign Café")
	start(t, bin, env, "serve") // killed at cleanup, like every process start starts
	base := "http://" + addr
	waitReady(t, base)
	biz := getMap(t, base+"/v1/me", key)["business"].(map[string]any)["id"].(string)
	sendJSON(t, "PUT", base+"/v1/channels/email", key, fmt.Sprintf(
		`{"host":%q,"port":%d,"tls":"none","from":"hello@cafe.test","rate_per_second":100000}`, smtp.Host(), smtp.Port()))
	lap("migrated, serving, email configured")

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	emails := seedEmailCustomers(t, db, biz, n)
	lap(fmt.Sprintf("%d customers seeded", n))

	const subject = "Spring at the Kill Campaign Café"
	cmp := postJSON(t, base+"/v1/campaigns", key, `{"name":"Spring","audience":{"all":[]},"message":{"variants":[`+
		`{"language":"en","kind":"email","subject":"`+subject+`","html":"<p>Two stamps for one, all week.</p>"}]}}`)
	id := cmp["id"].(string)
	if st := postJSON(t, base+"/v1/campaigns/"+id+"/send", key, `{}`)["status"]; st != hub.CampaignStatusSending {
		t.Fatalf("campaign is %v after send, want sending", st)
	}
	lap("campaign created and sent through the API")

	// waitReceived waits until the fake has accepted at least least
	// connections (one per message).
	waitReceived := func(least int, w *proc) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for smtp.Connections() < least {
			if time.Now().After(deadline) {
				kill(t, w)
				t.Fatalf("only %d messages received after 90 s, waiting for %d\n%s", smtp.Connections(), least, w.output)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w := start(t, bin, env, "work")
	waitReceived(n/5, w)
	kill(t, w)
	lap(fmt.Sprintf("first worker killed at %d received", smtp.Connections()))
	w = start(t, bin, env, "work")
	waitReceived(n*3/5, w)
	kill(t, w)
	lap(fmt.Sprintf("second worker killed at %d received", smtp.Connections()))
	w = start(t, bin, env, "work")
	// The last worker is killed when the test ends (start's cleanup).

	var stats hub.CampaignStats
	deadline := time.Now().Add(150 * time.Second)
	for report := time.Now(); ; {
		var c hub.Campaign
		getJSON(t, base+"/v1/campaigns/"+id, key, &c)
		stats = c.Stats
		if c.Status == hub.CampaignStatusSent {
			break
		}
		if time.Since(report) >= 10*time.Second {
			report = time.Now()
			t.Logf("%6.1fs   %s: %d recipients, %d queued or sending, %d sent, %d failed or unknown; %d received",
				time.Since(began).Seconds(), c.Status, c.Stats.Audience, c.Stats.Queued, c.Stats.Sent, c.Stats.Failed,
				smtp.Connections())
		}
		if time.Now().After(deadline) {
			kill(t, w)
			t.Fatalf("campaign still %s after 150 s: %+v, %d received\n%s", c.Status, c.Stats, smtp.Connections(), w.output)
		}
		time.Sleep(500 * time.Millisecond)
	}
	lap(fmt.Sprintf("campaign sent, %d received", smtp.Connections()))

	// A broken invariant tends to break for thousands of recipients: report
	// the first few of each kind and the count.
	problems := map[string]int{}
	problem := func(kind, format string, args ...any) {
		t.Helper()
		if problems[kind]++; problems[kind] <= 5 {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		for kind, k := range problems {
			if k > 5 {
				t.Errorf("… %d recipients in all %s", k, kind)
			}
		}
	}()

	// What the fake received, per address.
	received := map[string]int{}
	messages := smtp.Messages()
	for _, m := range messages {
		subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || subj != subject || len(m.To) != 1 {
			problem("got another message", "unexpected message to %v: %q (%v)", m.To, m.Header.Get("Subject"), err)
			continue
		}
		received[m.To[0]]++
	}
	for address, times := range received {
		if times > 1 {
			problem("received the campaign more than once", "%s received the campaign %d times", address, times)
		}
		if _, ok := emails[address]; !ok {
			problem("received it without being a customer", "%s received the campaign but is no customer", address)
		}
	}

	// Every recipient, with the status of its delivery.
	rows, err := db.Query(`SELECT cu.email, r.status, r.reason, COALESCE(d.status, ''), COALESCE(d.error, '')
		FROM campaign_recipients r JOIN customers cu ON cu.id = r.customer_id
		LEFT JOIN deliveries d ON d.id = r.delivery_id WHERE r.campaign_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	count := map[string]int{}
	recipients, arrivedUnknown := 0, 0
	for rows.Next() {
		var email, rstatus, reason, dstatus, derr string
		if err := rows.Scan(&email, &rstatus, &reason, &dstatus, &derr); err != nil {
			t.Fatal(err)
		}
		recipients++
		status := dstatus
		if rstatus == hub.RecipientSkipped {
			status = rstatus
		}
		count[status]++
		switch got := received[email]; status {
		case hub.DeliverySent:
			if got != 1 {
				problem("are recorded sent but did not receive it once", "%s is recorded sent but received the campaign %d times", email, got)
			}
		case hub.DeliveryUnknown:
			arrivedUnknown += got // in flight when its worker died: it may have arrived, once
		default:
			problem("ended neither sent nor unknown", "%s ended %q (recipient %s %s, delivery error %q), want sent or unknown",
				email, status, rstatus, reason, derr)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if recipients != n || count[hub.DeliverySent]+count[hub.DeliveryUnknown] != n {
		t.Errorf("%d recipients by status %v, want %d sent or unknown", recipients, count, n)
	}
	if maxUnknown := 2 * concurrency * tasks.CampaignSendParallel; count[hub.DeliveryUnknown] > maxUnknown {
		t.Errorf("%d recipients unknown, want at most %d (2 kills × %d tasks × %d sends at once)", count[hub.DeliveryUnknown], maxUnknown,
			concurrency, tasks.CampaignSendParallel)
	}
	// The stats count unknown deliveries as failed (perhaps delivered, never
	// resent).
	if sum := stats.Queued + stats.Sent + stats.Failed + stats.SkippedTotal(); stats.Audience != n || sum != n ||
		stats.Queued != 0 || stats.Sent != count[hub.DeliverySent] || stats.Failed != count[hub.DeliveryUnknown] {
		t.Errorf("stats %+v (sum %d), want audience %d = %d sent + %d unknown", stats, sum, n, count[hub.DeliverySent], count[hub.DeliveryUnknown])
	}
	t.Logf("%d recipients: %d sent, %d unknown (%d of them arrived); %d messages received by %d addresses; %.1fs in all",
		n, count[hub.DeliverySent], count[hub.DeliveryUnknown], arrivedUnknown, len(messages), len(received),
		time.Since(began).Seconds())
}

// seedEmailCustomers writes n customers of the business who consented to
// email straight into the database, in one statement, and returns their
// addresses.
func seedEmailCustomers(t *testing.T, db *sql.DB, businessID string, n int) map[string]bool {
	t.Helper()
	ids := make([]string, n)
	emails := make([]string, n)
	set := make(map[string]bool, n)
	for i := range n {
		ids[i] = hub.NewID(hub.PrefixCustomer)
		emails[i] = fmt.Sprintf("guest%05d@example.com", i)
		set[emails[i]] = true
	}
	consent := fmt.Sprintf(`{"email":{"granted":true,"source":"import","at":%q}}`, time.Now().UTC().Format(time.RFC3339Nano))
	res, err := db.Exec(`INSERT INTO customers (id, business_id, email, language, consent, created_at, updated_at)
		SELECT u.id, $1, u.email, 'en', $2::jsonb, now(), now() FROM unnest($3::text[], $4::text[]) AS u(id, email)`,
		businessID, consent, ids, emails)
	if err != nil {
		t.Fatalf("seed customers: %v", err)
	}
	if k, _ := res.RowsAffected(); k != int64(n) {
		t.Fatalf("seeded %d customers, want %d", k, n)
	}
	return set
}
