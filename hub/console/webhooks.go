package console

import (
	"net/http"
	"net/url"

	"github.com/7loc/hub/hub"
)

// pageSize is how many rows a console list shows at once.
const pageSize = 25

// hooksData is the webhooks page.
type hooksData struct {
	Hooks []*hub.Hook
	// Next is the cursor of the next page, "" on the last.
	Next string
}

// hookData is one webhook's page: its delivery log.
type hookData struct {
	Hook     *hub.Hook
	Attempts []*hub.DeliveryAttempt
	Next     string
	// Secret is the hook's new secret after a rotation: shown once, here.
	Secret string
}

// cursor reads the page cursor of a list of ids with the prefix; a cursor
// that is not one is ignored (the first page).
func cursor(r *http.Request, prefix string) hub.Page {
	p := hub.Page{Limit: pageSize}
	if c := r.URL.Query().Get("cursor"); hub.ValidID(prefix, c) {
		p.Cursor = c
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *server) webhooks(w http.ResponseWriter, r *http.Request) {
	hooks, next, err := s.svc.Hooks(r.Context(), session(r).BusinessID, cursor(r, hub.PrefixHook))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhooks", &view{Title: "hooks.title", Nav: "webhooks",
		Data: &hooksData{Hooks: hooks, Next: deref(next)}})
}

// hookPage loads a hook of the owner's business with a page of its log.
func (s *server) hookPage(r *http.Request, pg hub.Page) (*hookData, error) {
	id := r.PathValue("id")
	if !hub.ValidID(hub.PrefixHook, id) {
		return nil, hub.NotFound("hook")
	}
	b := session(r).BusinessID
	h, err := s.svc.Hook(r.Context(), b, id)
	if err != nil {
		return nil, err
	}
	attempts, next, err := s.svc.HookDeliveries(r.Context(), b, id, pg)
	if err != nil {
		return nil, err
	}
	return &hookData{Hook: h, Attempts: attempts, Next: deref(next)}, nil
}

func (s *server) webhook(w http.ResponseWriter, r *http.Request) {
	d, err := s.hookPage(r, cursor(r, hub.PrefixDelivery))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhook", &view{Title: "hook.title", Nav: "webhooks", Data: d})
}

func (s *server) rotateSecret(w http.ResponseWriter, r *http.Request) {
	d, err := s.hookPage(r, hub.Page{Limit: pageSize})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.svc.RotateHookSecret(r.Context(), session(r).BusinessID, d.Hook.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "webhook secret rotated in the console", "hook_id", h.ID, "owner_id", session(r).OwnerID)
	d.Hook, d.Secret = h, h.Secret
	s.render(w, r, http.StatusOK, "webhook", &view{Title: "hook.title", Nav: "webhooks", Data: d})
}

func (s *server) enableHook(w http.ResponseWriter, r *http.Request) {
	d, err := s.hookPage(r, hub.Page{Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.svc.EnableHook(r.Context(), session(r).BusinessID, d.Hook.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/webhooks/"+url.PathEscape(d.Hook.ID)+"?done=hook_enabled", http.StatusSeeOther)
}

func (s *server) redeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.hookPage(r, hub.Page{Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	event := r.PostFormValue("event_id")
	if !hub.ValidID(hub.PrefixEvent, event) {
		s.fail(w, r, hub.NotFound("event"))
		return
	}
	hookID := d.Hook.ID
	if err := s.svc.Redeliver(r.Context(), session(r).BusinessID, event, &hookID); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"/webhooks/"+url.PathEscape(hookID)+"?done=redelivery_queued", http.StatusSeeOther)
}
