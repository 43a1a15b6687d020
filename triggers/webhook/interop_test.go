package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeDir holds verify.mjs and the pinned npm standardwebhooks package.
var nodeDir = filepath.Join("testdata", "node")

// nodeVerifier returns the path of node, with testdata/node/node_modules
// installed (running npm ci if needed); it skips the test without Node.js,
// and fails it instead when HUB_TEST_REQUIRE_NODE=1 (as CI sets).
func nodeVerifier(t *testing.T) string {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	npm, npmErr := exec.LookPath("npm")
	if (nodeErr != nil || npmErr != nil) && os.Getenv("HUB_TEST_REQUIRE_NODE") == "1" {
		t.Fatalf("HUB_TEST_REQUIRE_NODE=1 but node (%v) or npm (%v) is missing", nodeErr, npmErr)
	}
	switch {
	case nodeErr != nil && npmErr != nil:
		t.Skip("neither node nor npm is on PATH: this test checks deliveries with the npm standardwebhooks verifier and needs Node.js (CI has it)")
	case nodeErr != nil:
		t.Skip("node is not on PATH: this test checks deliveries with the npm standardwebhooks verifier and needs Node.js (CI has it)")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		if npmErr != nil {
			t.Skipf("%s/node_modules is missing and npm is not on PATH to install it (npm ci --prefix %s)", nodeDir, nodeDir)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "ci", "--prefix", nodeDir, "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci --prefix %s: %v\n%s", nodeDir, err, out)
		}
	}
	return node
}

// jsCase is one input of verify.mjs.
type jsCase struct {
	Name    string            `json:"name"`
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`

	want bool
	now  time.Time // of Verify
}

// jsVerdict is one output of verify.mjs.
type jsVerdict struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

func TestStandardWebhooksInterop(t *testing.T) {
	node := nodeVerifier(t)

	now := time.Now()
	secret, oldSecret := NewSecret(), NewSecret()
	var cases []jsCase
	add := func(name string, verifyWith string, secrets []string, id string, ts time.Time, signed, sent string, want bool) {
		t.Helper()
		h, err := Headers(secrets, id, ts, []byte(signed))
		if err != nil {
			t.Fatal(err)
		}
		headers := map[string]string{}
		for k := range h { // as a Node.js server sees them: lower case
			headers[strings.ToLower(k)] = h.Get(k)
		}
		cases = append(cases, jsCase{Name: name, Secret: verifyWith, Headers: headers, Body: sent, want: want, now: now})
	}

	bodies := []string{
		`{}`,
		`{"id":"evt_01HXAMPLE","type":"card.stamped","created_at":"2025-03-01T12:00:00Z","data":{"card_id":"card_01","stamps":3}}`,
		`{"type":"customer.created","data":{"name":"Zoë Café ☕ – \"quoted\" \\ back\/slash","note":"line\nbreak\u2028sep","emoji":"🎉"}}`,
		"{\n  \"type\": \"voucher.redeemed\",\n  \"data\": {\"code\": \"A&B<C>\"}\n}\n",
		`{"type":"bulk","data":"` + strings.Repeat("0123456789", 10_000) + `"}`,
	}
	for i, body := range bodies {
		id := fmt.Sprintf("evt_%02d_%d", i, now.UnixNano())
		add(fmt.Sprintf("delivery %d", i), secret, []string{secret}, id, now, body, body, true)
	}
	body := bodies[1]
	add("rotation: receiver has the old secret", oldSecret, []string{secret, oldSecret}, "evt_rot", now, body, body, true)
	add("rotation: receiver has the new secret", secret, []string{secret, oldSecret}, "evt_rot", now, body, body, true)
	add("timestamp 1 min old", secret, []string{secret}, "evt_late", now.Add(-time.Minute), body, body, true)
	add("tampered body", secret, []string{secret}, "evt_tamper", now, body, strings.Replace(body, `"stamps":3`, `"stamps":30`, 1), false)
	add("body with a trailing newline", secret, []string{secret}, "evt_nl", now, body, body+"\n", false)
	add("stale timestamp", secret, []string{secret}, "evt_stale", now.Add(-10*time.Minute), body, body, false)
	add("timestamp from the future", secret, []string{secret}, "evt_future", now.Add(10*time.Minute), body, body, false)
	add("wrong secret", oldSecret, []string{secret}, "evt_wrong", now, body, body, false)

	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify.mjs")
	cmd.Dir = nodeDir
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.Bytes())
	}
	var verdicts []jsVerdict
	if err := json.Unmarshal(out, &verdicts); err != nil {
		t.Fatalf("node verify.mjs printed %q: %v", out, err)
	}
	if len(verdicts) != len(cases) {
		t.Fatalf("node verify.mjs gave %d verdicts for %d cases", len(verdicts), len(cases))
	}

	for i, c := range cases {
		v := verdicts[i]
		if v.Name != c.Name || v.OK != c.want {
			t.Errorf("standardwebhooks (npm) on %q: ok=%v (%s), want ok=%v", c.Name, v.OK, v.Error, c.want)
		}
		// Our own Verify must agree with theirs.
		h := make(map[string][]string, len(c.Headers))
		for k, val := range c.Headers {
			h[k] = []string{val}
		}
		if err := Verify(c.Secret, h, []byte(c.Body), 0, c.now); (err == nil) != c.want {
			t.Errorf("Verify on %q = %v, want ok=%v", c.Name, err, c.want)
		}
	}
}
