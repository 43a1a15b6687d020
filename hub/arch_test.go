package hub_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsOnlyTheStandardLibrary keeps package hub free of
// infrastructure: no module outside the standard library, no project package.
func TestDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/7loc/hub/hub" {
			t.Errorf("package hub depends on %s; the domain may use the standard library only", dep)
		}
	}
}

// TestNoSidewaysImports keeps the adapters apart: each imports hub and its
// own libraries, never another adapter (a provider's fake is part of it).
func TestNoSidewaysImports(t *testing.T) {
	const module = "github.com/7loc/hub/"
	adapters := []string{"hub/sqlstore", "hub/httpapi", "hub/tasks", "hub/ratelimit", "hub/sendbudget", "hub/cardpage", "hub/revocation", "hub/console", "hub/password",
		"channels", "channels/telegram", "channels/whatsapp", "channels/viber", "channels/email",
		"channels/walletpush", "channels/gateway", "triggers/webhook", "integrations/poster", "integrations/syrve"}
	for _, a := range adapters {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../"+a).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", a, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+a || strings.HasPrefix(dep, module+a+"/") {
				continue // itself and its own subpackages (fakes)
			}
			for _, other := range adapters {
				if other != a && (dep == module+other || strings.HasPrefix(dep, module+other+"/")) {
					t.Errorf("%s imports %s; adapters must not import each other", a, dep)
				}
			}
		}
	}
}

// TestBinaryLinksNoFakes keeps the provider fakes and the testing packages
// out of the hub's binary; only the benchmark build (-tags bench) has them.
func TestBinaryLinksNoFakes(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "../cmd/hub").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		ours := strings.HasPrefix(dep, "github.com/7loc/hub/")
		if dep == "testing" || dep == "net/http/httptest" || ours && (strings.HasSuffix(dep, "fake") || strings.HasSuffix(dep, "test")) {
			t.Errorf("cmd/hub links %s", dep)
		}
	}
}

// TestDomainSpeaksNoHTTP keeps HTTP out of the domain: statuses and headers
// are the HTTP layer's (httpapi maps the domain's errors to statuses).
func TestDomainSpeaksNoHTTP(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "net/http" || strings.HasPrefix(dep, "net/http/") {
			t.Errorf("package hub depends on %s", dep)
		}
	}
}
