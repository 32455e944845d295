package dashboard

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// actionNames are the buttons of a host page, named as the REST API names
// its actions; release-wipe is release with {"wipe": true}.
var actionNames = []string{"deploy", "release", "release-wipe", "retry", "power-on", "power-off", "power-cycle"}

// hostAction runs one action through Actions. A refusal is shown next to
// the button that asked: as JSON for the page's script, or by rendering the
// host page again for a plain form post.
func (d *Dashboard) hostAction(w http.ResponseWriter, r *http.Request) error {
	mac, err := inventory.NormalizeMAC(chi.URLParam(r, "mac"))
	if err != nil {
		return err
	}
	action := chi.URLParam(r, "action")
	h, err := d.runAction(r, mac, action)
	if err != nil {
		return d.refused(w, r, action, err)
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"message": fmt.Sprintf("%s: done, host is %s", action, h.State), "state": string(h.State)})
		return nil
	}
	http.Redirect(w, r, "/ui/hosts/"+mac, http.StatusSeeOther)
	return nil
}

func (d *Dashboard) runAction(r *http.Request, mac, action string) (inventory.Host, error) {
	if !slices.Contains(actionNames, action) {
		return inventory.Host{}, httperr.Errorf(http.StatusNotFound, "unknown action %q (want one of %s)", action, strings.Join(actionNames, ", "))
	}
	if d.cfg.Actions == nil {
		return inventory.Host{}, httperr.Errorf(http.StatusNotImplemented, "%s: actions are not available on this appliance", action)
	}
	h, err := d.cfg.Store.Host(r.Context(), mac)
	if err != nil {
		return inventory.Host{}, err
	}
	// A disabled button posted anyway (an old page, a hand-made form) is
	// refused here with the reason its button showed.
	if err := provision.Check(&h, provision.Action(action)); err != nil {
		return inventory.Host{}, err
	}
	if c := confirmFor(&h, provision.Action(action)); c != "" && r.PostFormValue("confirm") != "yes" {
		return inventory.Host{}, httperr.Errorf(http.StatusBadRequest, "%s: not done: tick %q first", action, c)
	}
	var body map[string]any
	if action == "deploy" {
		image := strings.TrimSpace(r.PostFormValue("image"))
		if image == "" {
			return inventory.Host{}, httperr.Errorf(http.StatusBadRequest, "deploy: choose an image")
		}
		body = map[string]any{"image": image}
	}
	if action == "release-wipe" {
		action, body = "release", map[string]any{"wipe": true}
	}
	return d.cfg.Actions.Do(WithActor(r.Context(), sessionOf(r).actor()), mac, action, body)
}

// refused reports an action's error. Unlike other errors, its text is
// shown even for a 5xx: it is the API's (or the BMC's) own message, and
// the operator needs it to act.
func (d *Dashboard) refused(w http.ResponseWriter, r *http.Request, action string, err error) error {
	code := httperr.Status(err)
	if code >= 500 {
		d.cfg.Logger.Warn("dashboard action failed", "path", r.URL.Path, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return nil
	}
	if code == http.StatusNotFound && !slices.Contains(actionNames, action) {
		return err // no such action: a page of its own, not a host page
	}
	return d.renderHost(w, r, code, map[string]string{action: err.Error()})
}
