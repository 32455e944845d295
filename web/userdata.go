package web

import (
	"cmp"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/seed"
)

// userDataRoutes adds the label-selected user-data parts to /api/v1: each
// goes into the seed of every host its selector matches, at that host's
// next deploy, before the deploy request's own part.
func (s *Server) userDataRoutes(r chi.Router) {
	r.Get("/user-data", s.handle(s.listUserData))
	r.Post("/user-data", s.handle(s.createUserData))
	r.Get("/user-data/{name}", s.handle(s.getUserData))
	r.Put("/user-data/{name}", s.handle(s.putUserData))
	r.Delete("/user-data/{name}", s.handle(s.deleteUserData))
}

// userDataView is a stored part and how many hosts it selects now.
type userDataView struct {
	inventory.UserData
	SelectedHosts int `json:"selected_hosts"`
}

// decodeUserData reads a part and checks it as cloud-init would take it
// (seed.Part.Check names the YAML line of a mistake), so nothing stored
// can break every deploy it selects. On PUT, name is the path's.
func (s *Server) decodeUserData(w http.ResponseWriter, r *http.Request, name string) (inventory.UserData, error) {
	var b configBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return inventory.UserData{}, err
	}
	if name != "" && b.Name != "" && b.Name != name {
		return inventory.UserData{}, httperr.Errorf(http.StatusBadRequest, "request body: name %q differs from the path's %q", b.Name, name)
	}
	u := inventory.UserData{Name: cmp.Or(name, b.Name), Selector: b.Selector, Body: b.Body}
	if err := (seed.Part{Name: u.Name, Body: u.Body}).Check(); err != nil {
		return u, httperr.Wrap(http.StatusBadRequest, err)
	}
	return u, nil
}

func (s *Server) listUserData(w http.ResponseWriter, r *http.Request) error {
	all, err := s.Store.UserDatas(r.Context())
	if err != nil {
		return err
	}
	labels, err := s.allLabels(r.Context())
	if err != nil {
		return err
	}
	views := make([]userDataView, len(all))
	for i, u := range all {
		views[i] = viewUserData(u, labels)
	}
	writeJSON(w, http.StatusOK, map[string]any{"user_data": views})
	return nil
}

func (s *Server) getUserData(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Store.UserData(r.Context(), chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	return s.writeUserData(w, r, http.StatusOK, u)
}

func (s *Server) createUserData(w http.ResponseWriter, r *http.Request) error {
	u, err := s.decodeUserData(w, r, "")
	if err != nil {
		return err
	}
	if _, err := s.Store.UserData(r.Context(), u.Name); err == nil {
		return httperr.Errorf(http.StatusConflict, "user-data %s exists: PUT /api/v1/user-data/%s replaces it", u.Name, u.Name)
	}
	stored, _, err := s.Store.PutUserData(r.Context(), u, 0, actor(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/user-data/"+stored.Name)
	return s.writeUserData(w, r, http.StatusCreated, stored)
}

// putUserData creates or replaces a part; If-Match makes it conditional
// on the stored version.
func (s *Server) putUserData(w http.ResponseWriter, r *http.Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	u, err := s.decodeUserData(w, r, chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	stored, created, err := s.Store.PutUserData(r.Context(), u, version, actor(r))
	if err != nil {
		return err
	}
	return s.writeUserData(w, r, map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created], stored)
}

func (s *Server) deleteUserData(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteUserData(r.Context(), chi.URLParam(r, "name"), actor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) writeUserData(w http.ResponseWriter, r *http.Request, code int, u inventory.UserData) error {
	labels, err := s.allLabels(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(u.Version))
	writeJSON(w, code, viewUserData(u, labels))
	return nil
}

func viewUserData(u inventory.UserData, labels []map[string]string) userDataView {
	v := userDataView{UserData: u}
	for _, l := range labels {
		if u.Selects(l) {
			v.SelectedHosts++
		}
	}
	return v
}
