package httpapi_test

import (
	"strings"
	"testing"

	"github.com/7loc/hub/hub/sqlstore"
	"github.com/7loc/hub/hub/sqlstore/sqltest"
)

func TestInviteOwner(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, st *sqlstore.Store) {
		h := newHarness(t, st)
		path := "/admin/v1/businesses/" + h.business + "/owners"
		inv := h.admin("POST", path, `{"email":"Owner@Example.com","name":"Olga"}`, 201)
		url := str(inv["url"])
		if !strings.HasPrefix(url, "https://hub.test/console/invitations/") {
			t.Errorf("url = %q", url)
		}
		owner := inv["owner"].(map[string]any)
		if owner["email"] != "owner@example.com" || owner["name"] != "Olga" {
			t.Errorf("owner = %v", owner)
		}
		// Again: a new link for the same owner.
		again := h.admin("POST", path, `{"email":"owner@example.com"}`, 201)
		if again["url"] == inv["url"] || again["owner"].(map[string]any)["id"] != owner["id"] {
			t.Errorf("second invitation = %v", again)
		}
		h.admin("POST", path, `{"email":"nope"}`, 422)
		other := str(h.admin("POST", "/admin/v1/businesses", `{"name":"Other"}`, 201)["id"])
		h.admin("POST", "/admin/v1/businesses/"+other+"/owners", `{"email":"owner@example.com"}`, 409)
		h.admin("POST", "/admin/v1/businesses/b_01JTZ6W1Q9M3N4R5S6T7V8W9XY/owners", `{"email":"x@example.com"}`, 404)
	})
}
