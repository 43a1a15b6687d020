package console

import (
	"net/http"

	"github.com/7loc/hub/hub"
)

// keysData is the API keys page.
type keysData struct {
	// Keys are the active keys, newest first.
	Keys []*hub.APIKey
	// FreeLogins are the staff logins without an active key: the choices
	// of the Add dialog.
	FreeLogins []string
	// AddOpen shows the Add dialog open (no JavaScript, or a refused form).
	AddOpen bool
	// Login and Name are the Add form's values after a refused post.
	Login, Name string
	// NewKey is a key just created or regenerated: shown once, here.
	NewKey *hub.APIKey
}

// confirmData is a confirmation page for a key action.
type confirmData struct {
	Key    *hub.APIKey
	Action string
}

// keysPage loads what the API keys page shows.
func (s *server) keysPage(r *http.Request) (*keysData, error) {
	b := session(r).BusinessID
	keys, err := s.svc.APIKeys(r.Context(), b)
	if err != nil {
		return nil, err
	}
	staff, err := s.svc.StaffList(r.Context(), b)
	if err != nil {
		return nil, err
	}
	d := &keysData{}
	taken := map[string]bool{}
	for _, k := range keys {
		if k.Status == hub.KeyActive {
			d.Keys = append(d.Keys, k)
			taken[k.Login] = true
		}
	}
	for _, st := range staff {
		if !taken[st.Login] {
			d.FreeLogins = append(d.FreeLogins, st.Login)
		}
	}
	return d, nil
}

func (s *server) renderKeys(w http.ResponseWriter, r *http.Request, st int, d *keysData, err error) {
	v := &view{Title: "keys.title", Nav: "api-keys", Data: d}
	if err != nil {
		withError(v, err)
	}
	s.render(w, r, st, "api-keys", v)
}

func (s *server) apiKeys(w http.ResponseWriter, r *http.Request) {
	d, err := s.keysPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.AddOpen = r.URL.Path == Prefix+"/api-keys/new"
	s.renderKeys(w, r, http.StatusOK, d, nil)
}

// createAPIKey creates a key and shows it once, in the answer to the post
// (never stored, never in a later page).
func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	in := hub.APIKeyInput{Login: r.PostFormValue("login")}
	if name := r.PostFormValue("name"); name != "" {
		in.Name = &name
	}
	k, err := s.svc.CreateAPIKey(r.Context(), session(r).BusinessID, in)
	d, lerr := s.keysPage(r)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	if err != nil {
		d.AddOpen, d.Login, d.Name = true, in.Login, r.PostFormValue("name")
		s.renderKeys(w, r, status(err), d, err)
		return
	}
	s.log.InfoContext(r.Context(), "API key created in the console", "business_id", k.BusinessID, "key_id", k.ID,
		"owner_id", session(r).OwnerID)
	d.NewKey = k
	s.renderKeys(w, r, http.StatusCreated, d, nil)
}

// activeKey finds an active key of the owner's business by the path's id;
// anything else is not found.
func (s *server) activeKey(r *http.Request) (*hub.APIKey, error) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixAPIKey, id) {
		return nil, hub.NotFound("api key")
	}
	keys, err := s.svc.APIKeys(r.Context(), session(r).BusinessID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.ID == id && k.Status == hub.KeyActive {
			return k, nil
		}
	}
	return nil, hub.NotFound("api key")
}

// confirmAPIKey is the confirmation page of Regenerate and Delete without
// JavaScript (with it, a dialog on the keys page asks).
func (s *server) confirmAPIKey(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "regenerate" && action != "delete" {
		s.notFound(w, r)
		return
	}
	k, err := s.activeKey(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "confirm-key", &view{Title: "keys." + action + ".title", Nav: "api-keys",
		Data: confirmData{Key: k, Action: action}})
}

func (s *server) regenerateAPIKey(w http.ResponseWriter, r *http.Request) {
	if _, err := s.activeKey(r); err != nil {
		s.fail(w, r, err)
		return
	}
	k, err := s.svc.RegenerateAPIKey(r.Context(), session(r).BusinessID, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.keysPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "API key regenerated in the console", "business_id", k.BusinessID, "key_id", k.ID,
		"owner_id", session(r).OwnerID)
	d.NewKey = k
	s.renderKeys(w, r, http.StatusOK, d, nil)
}

func (s *server) deleteAPIKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.activeKey(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.svc.RevokeAPIKey(r.Context(), k.BusinessID, k.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "API key deleted in the console", "business_id", k.BusinessID, "key_id", k.ID,
		"owner_id", session(r).OwnerID)
	http.Redirect(w, r, Prefix+"/api-keys?done=key_deleted", http.StatusSeeOther)
}
