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
}

type hostPage struct {
	chrome
	hostView
	Images    []string // nil hides the deploy picker
	ImagesErr string
	// Refused holds, for a form post without script, the message of the
	// action that was refused, keyed by action name.
	Refused    map[string]string
	Lifecycle  []actionForm
	PowerForms []actionForm
}

// actionForm is one action button with the message shown next to it.
type actionForm struct {
	MAC, Action, Label, CSRF, Refused string
}

type button struct{ action, label string }

var (
	lifecycleButtons = []button{{"release", "Release"}, {"release-wipe", "Release and wipe disks"}, {"retry", "Retry"}}
	powerButtons     = []button{{"power-on", "Power on"}, {"power-off", "Power off"}, {"power-cycle", "Power cycle"}}
)

func forms(mac, csrf string, refused map[string]string, buttons []button) []actionForm {
	out := make([]actionForm, len(buttons))
	for i, b := range buttons {
		out[i] = actionForm{MAC: mac, Action: b.action, Label: b.label, CSRF: csrf, Refused: refused[b.action]}
	}
	return out
}

func (d *Dashboard) hostPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderHost(w, r, http.StatusOK, nil)
}

func (d *Dashboard) renderHost(w http.ResponseWriter, r *http.Request, code int, refused map[string]string) error {
	mac, err := inventory.NormalizeMAC(chi.URLParam(r, "mac"))
	if err != nil {
		return err
	}
	v, err := d.hostView(r.Context(), mac)
	if err != nil {
		return err
	}
	p := hostPage{chrome: d.chrome(r, hostTitle(v.Host), "hosts"), hostView: v, Refused: refused}
	p.Lifecycle = forms(mac, p.CSRF, refused, lifecycleButtons)
	p.PowerForms = forms(mac, p.CSRF, refused, powerButtons)
	if d.cfg.Images != nil {
		p.Images, err = d.cfg.Images.List(r.Context())
		if err != nil {
			p.ImagesErr = err.Error()
		}
		if p.Images == nil {
			p.Images = []string{}
		}
	}
	return d.views.page(w, code, "host", p)
}

func (d *Dashboard) hostView(ctx context.Context, mac string) (hostView, error) {
	h, err := d.cfg.Store.Host(ctx, mac)
	if err != nil {
		return hostView{}, err
	}
	ev, err := d.cfg.Store.Events(ctx, mac, timelineLength)
	if err != nil {
		return hostView{}, err
	}
	return hostView{Host: h, Events: ev, Progress: progressOf(&h)}, nil
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
