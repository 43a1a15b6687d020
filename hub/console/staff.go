package console

import (
	"net/http"

	"github.com/7loc/hub/hub"
)

// staffRow is a staff login with its active key, if any.
type staffRow struct {
	Staff *hub.Staff
	Key   *hub.APIKey
}

// staffData is the staff page.
type staffData struct {
	Rows        []staffRow
	Login, Name string
}

func (s *server) staffPage(r *http.Request) (*staffData, error) {
	b := session(r).BusinessID
	staff, err := s.svc.StaffList(r.Context(), b)
	if err != nil {
		return nil, err
	}
	keys, err := s.svc.APIKeys(r.Context(), b)
	if err != nil {
		return nil, err
	}
	byLogin := map[string]*hub.APIKey{}
	for _, k := range keys {
		if k.Status == hub.KeyActive {
			byLogin[k.Login] = k
		}
	}
	d := &staffData{}
	for _, st := range staff {
		d.Rows = append(d.Rows, staffRow{Staff: st, Key: byLogin[st.Login]})
	}
	return d, nil
}

func (s *server) staff(w http.ResponseWriter, r *http.Request) {
	d, err := s.staffPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "staff", &view{Title: "staff.title", Nav: "staff", Data: d})
}

func (s *server) createStaff(w http.ResponseWriter, r *http.Request) {
	in := hub.StaffInput{Login: r.PostFormValue("login")}
	if name := r.PostFormValue("name"); name != "" {
		in.Name = &name
	}
	_, err := s.svc.CreateStaff(r.Context(), session(r).BusinessID, in)
	if err == nil {
		http.Redirect(w, r, Prefix+"/staff?done=staff_added", http.StatusSeeOther)
		return
	}
	d, lerr := s.staffPage(r)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	d.Login, d.Name = in.Login, r.PostFormValue("name")
	s.render(w, r, status(err), "staff", withError(&view{Title: "staff.title", Nav: "staff", Data: d}, err))
}
