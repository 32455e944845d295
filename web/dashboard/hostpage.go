package dashboard

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// timelineLength is how many events the host page shows.
const timelineLength = 100

// hostView is what the live sections of a host page are rendered from,
// both on the page and in the event stream.
type hostView struct {
	Host     inventory.Host
	Events   []inventory.Event
	Progress *inventory.DeployProgress
	// Actions are the host's buttons as its state and BMC allow.
	Actions hostActions
}

type hostPage struct {
	chrome
	hostView
}

func (d *Dashboard) hostPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderHost(w, r, http.StatusOK, nil)
}

// renderHost renders the host page; refused holds, for a form post without
// script, the message of the action that was refused, keyed by action.
func (d *Dashboard) renderHost(w http.ResponseWriter, r *http.Request, code int, refused map[string]string) error {
	mac, err := inventory.NormalizeMAC(chi.URLParam(r, "mac"))
	if err != nil {
		return err
	}
	c := d.chrome(r, "", "hosts")
	v, err := d.hostView(r.Context(), mac, c.CSRF, refused)
	if err != nil {
		return err
	}
	c.Title = hostTitle(v.Host)
	return d.views.page(w, code, "host", hostPage{chrome: c, hostView: v})
}

func (d *Dashboard) hostView(ctx context.Context, mac, csrf string, refused map[string]string) (hostView, error) {
	h, err := d.cfg.Store.Host(ctx, mac)
	if err != nil {
		return hostView{}, err
	}
	ev, err := d.cfg.Store.Events(ctx, mac, timelineLength)
	if err != nil {
		return hostView{}, err
	}
	return hostView{Host: h, Events: ev, Progress: progressOf(&h), Actions: d.actionsFor(ctx, &h, csrf, refused)}, nil
}

func hostTitle(h inventory.Host) string {
	if h.Hostname != "" {
		return h.Hostname
	}
	return h.MAC
}

// progressOf is the bar to show: the host's deploy progress while it
// deploys, none otherwise (the numbers of an earlier deploy are history).
func progressOf(h *inventory.Host) *inventory.DeployProgress {
	if h.State != inventory.StateDeploying || h.Progress == nil || h.Progress.Total <= 0 {
		return nil
	}
	return h.Progress
}
