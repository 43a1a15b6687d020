package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/7loc/hub/hub"
	"github.com/7loc/hub/hub/redistest"
	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

// TestKilledProcessesLoseNoEvent runs the scale-out shape as real processes
// on PostgreSQL and Redis: `hub serve` takes stamps and is killed (SIGKILL)
// in the middle of the load; a `hub work` replica is killed in the middle of
// dispatching; a second one finishes. Every event a client was told about is
// in the database, and every event in the database ends up dispatched.
func TestKilledProcessesLoseNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hub binary")
	}
	dbURL := freshPostgresDatabase(t)
	rdb, real := redistest.Client(t)
	if !real {
		t.Skip("needs a real Redis shared between processes")
	}
	prefix := redistest.Prefix(t, rdb)
	bin := buildHub(t)
	addr := freePort(t)
	env := []string{
		"HUB_DATABASE_URL=" + dbURL,
		"HUB_REDIS_URL=redis://" + rdb.Options().Addr + "/" + fmt.Sprint(rdb.Options().DB),
		"HUB_QUEUE_PREFIX=" + prefix, "HUB_ADDR=" + addr, "HUB_ADMIN_TOKEN=kill-test",
		"HUB_LOG_LEVEL=warn", "HUB_RELAY_MIN_AGE=1s", "HUB_RATE_LIMIT=0",
		"HUB_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8",
	}
	// A receiver that dedups on webhook-id, as Standard Webhooks receivers do.
	recv := newHookReceiver(t)
	key := createKey(t, bin, env, "Kill Café")

	serve := start(t, bin, env, "serve")
	base := "http://" + addr
	waitReady(t, base)
	me := getMap(t, base+"/v1/me", key)
	biz := me["business"].(map[string]any)["id"].(string)
	tpl := postJSON(t, base+"/admin/v1/businesses/"+biz+"/card-templates", "kill-test",
		`{"name":"C","goals":[{"stamps":3,"reward":{"title":"R"}}]}`)["id"].(string)
	postJSON(t, base+"/v1/hooks", key, `{"event":"*","target_url":"`+recv.srv.URL+`/hook"}`)
	var cards []string
	for i := 0; i < 20; i++ {
		c := postJSON(t, base+"/v1/cards", key, fmt.Sprintf(`{"template_id":%q,"customer":{"email":"k%d@example.com"}}`, tpl, i))
		cards = append(cards, c["id"].(string))
	}

	// Stamp from 8 clients; kill the server while they run.
	var mu sync.Mutex
	acked := map[string]bool{}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/cards/"+cards[(c*7+i)%len(cards)]+"/stamps", strings.NewReader(`{}`))
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := client.Do(req)
				if err != nil {
					continue // the server is gone; what it did not answer may or may not be written
				}
				var r struct {
					Events []struct{ ID string } `json:"events"`
				}
				_ = json.NewDecoder(res.Body).Decode(&r)
				res.Body.Close()
				if res.StatusCode == 200 {
					mu.Lock()
					for _, e := range r.Events {
						acked[e.ID] = true
					}
					mu.Unlock()
				}
			}
		}(c)
	}
	time.Sleep(1500 * time.Millisecond)
	kill(t, serve)
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no stamp was acknowledged before the kill")
	}

	st, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	events := func() map[string]bool { // id -> dispatched
		t.Helper()
		got := map[string]bool{}
		cursor := ""
		for {
			var page []*hub.EventRecord
			err := st.Read(context.Background(), func(tx hub.Tx) error {
				var err error
				page, err = tx.Events(context.Background(), hub.EventFilter{BusinessID: biz, Page: hub.Page{Limit: 100, Cursor: cursor}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 100 {
				page = page[:100]
			}
			for _, e := range page {
				got[e.ID] = e.Dispatched
			}
			if len(page) < 100 {
				return got
			}
			cursor = page[len(page)-1].ID
		}
	}
	stored := events()
	for id := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("event %s was acknowledged to a client but is not in the database", id)
		}
	}

	// A worker starts dispatching and is killed; another one finishes the job.
	w1 := start(t, bin, env, "work")
	time.Sleep(700 * time.Millisecond)
	kill(t, w1)
	w2 := start(t, bin, env, "work")
	defer kill(t, w2)
	deadline := time.Now().Add(60 * time.Second)
	for {
		pending := 0
		for _, dispatched := range events() {
			if !dispatched {
				pending++
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events still undispatched after 60 s", pending, len(stored))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every stored event reaches the receiver, although workers were killed
	// while delivering (at least once; the receiver dedups on webhook-id).
	all := events()
	for {
		missing, dups := 0, 0
		for id := range all {
			switch n := recv.count(id); {
			case n == 0:
				missing++
			case n > 1:
				dups++
			}
		}
		if missing == 0 {
			t.Logf("%d events acknowledged, %d stored, all dispatched and delivered after two kills (%d delivered more than once, deduped by webhook-id)", len(acked), len(all), dups)
			break
		}
		// A delivery cut off by the kill comes back when asynq recovers the
		// task: its lease (30 s) must expire and the recoverer (every minute)
		// run, so allow two minutes and a half.
		if time.Now().After(deadline.Add(150 * time.Second)) {
			t.Fatalf("%d of %d events never reached the webhook receiver", missing, len(all))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freshPostgresDatabase creates a database for the test and drops it after.
func freshPostgresDatabase(t *testing.T) string {
	t.Helper()
	base := sqltest.PostgresURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv(sqltest.EnvRequirePostgres) == "1" {
			t.Fatalf("PostgreSQL required: %v", err)
		}
		t.Skipf("PostgreSQL not reachable: %v", err)
	}
	name := "hub_kill_" + strings.ToLower(hub.RandomString("abcdefghijklmnopqrstuvwxyz", 10))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// hookReceiver counts the webhook deliveries it gets by webhook-id and
// answers each 204, as a Standard Webhooks receiver that dedups would.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	r := &hookReceiver{got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.got[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// count is how many deliveries of the event arrived.
func (r *hookReceiver) count(eventID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[eventID]
}

// createKey runs `hub keys create` for a till login of the business (made
// if missing) with env and returns the key.
func createKey(t *testing.T, bin string, env []string, business string) string {
	t.Helper()
	cmd := exec.Command(bin, "keys", "create", "--business", business, "--staff", "till")
	cmd.Env = append(os.Environ(), env...)
	keyOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("keys create: %v", err)
	}
	return strings.TrimSpace(string(keyOut))
}

// buildHub builds the hub binary (with tags, if any) for a test to run.
func buildHub(t *testing.T, tags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hub")
	out, err := exec.Command("go", "build", "-tags", strings.Join(tags, ","), "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd    *exec.Cmd
	output *bytes.Buffer
	done   chan struct{}
}

func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), output: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	// A test that fails half-way must not leave a hub process behind.
	t.Cleanup(func() { kill(t, p) })
	return p
}

func kill(t *testing.T, p *proc) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("hub serve did not become ready")
}

func getMap(t *testing.T, u, key string) map[string]any {
	t.Helper()
	var m map[string]any
	getJSON(t, u, key, &m)
	return m
}

func postJSON(t *testing.T, u, bearer, body string) map[string]any {
	t.Helper()
	return sendJSON(t, "POST", u, bearer, body)
}

// sendJSON makes a request with a JSON body and decodes the JSON answer; an
// answer that is not 2xx fails the test.
func sendJSON(t *testing.T, method, u, bearer, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, u, res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
