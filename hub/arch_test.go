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

// TestNoSidewaysImports keeps the adapters apart: sqlstore, httpapi, tasks,
// ratelimit and cardpage import hub and their own libraries, never each other.
func TestNoSidewaysImports(t *testing.T) {
	adapters := []string{"sqlstore", "httpapi", "tasks", "ratelimit", "cardpage", "revocation"}
	for _, a := range adapters {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+a).CombinedOutput()
		if err != nil {
			t.Fatalf("go list ./%s: %v\n%s", a, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, other := range adapters {
				if other != a && dep == "github.com/7loc/hub/hub/"+other {
					t.Errorf("hub/%s imports hub/%s; adapters must not import each other", a, other)
				}
			}
		}
	}
}
