package dashboard

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
)

type imagesPage struct {
	chrome
	Images  []string
	Refused map[string]string // image name → why removing it failed
	// Message is a refusal about an image the list no longer shows.
	Message string
}

func (d *Dashboard) imagesPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderImages(w, r, http.StatusOK, nil)
}

func (d *Dashboard) renderImages(w http.ResponseWriter, r *http.Request, code int, refused map[string]string) error {
	if d.cfg.Images == nil {
		return httperr.Errorf(http.StatusNotFound, "no image store on this appliance")
	}
	list, err := d.cfg.Images.List(r.Context())
	if err != nil {
		return err
	}
	p := imagesPage{chrome: d.chrome(r, "Images", "images"), Images: list, Refused: refused}
	for name, msg := range refused {
		if !slices.Contains(list, name) {
			p.Message = msg
		}
	}
	return d.views.page(w, code, "images", p)
}

func (d *Dashboard) removeImage(w http.ResponseWriter, r *http.Request) error {
	if d.cfg.Images == nil {
		return httperr.Errorf(http.StatusNotFound, "no image store on this appliance")
	}
	name := chi.URLParam(r, "name")
	var err error
	if r.PostFormValue("confirm") != "yes" { // removing an image cannot be undone: it asks first
		err = httperr.Errorf(http.StatusBadRequest, "remove %s: not done: tick \"Remove this image\" first", name)
	} else {
		err = d.cfg.Images.Remove(r.Context(), name)
	}
	if err != nil {
		if wantsJSON(r) {
			writeJSON(w, statusOrConflict(err), map[string]string{"error": err.Error()})
			return nil
		}
		return d.renderImages(w, r, statusOrConflict(err), map[string]string{name: err.Error()})
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "removed " + name})
		return nil
	}
	http.Redirect(w, r, "/ui/images", http.StatusSeeOther)
	return nil
}

// statusOrConflict: an image store's refusal (in use, missing) is the
// operator's to read, not an internal error.
func statusOrConflict(err error) int {
	if c := httperr.Status(err); c != http.StatusInternalServerError {
		return c
	}
	return http.StatusConflict
}
