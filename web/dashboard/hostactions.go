package dashboard

import (
	"context"

	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
)

// hostActions are a host page's buttons. Which are enabled is
// provision.Check's answer, the rule the lifecycle itself applies, so a
// button is enabled exactly when the API would carry the action out.
type hostActions struct {
	MAC       string
	CSRF      string
	Lifecycle []actionForm
	// Power is nil for a host without a BMC: no buttons, a note instead.
	Power []actionForm
	// Deploy is the deploy form; HasImages is false when the appliance
	// has no image store at all (no form), Images empty when it has no
	// image yet (a hint to import one).
	Deploy    actionForm
	HasImages bool
	Images    []string
	ImagesErr string
	Current   string // the host's image, preselected
}

// actionForm is one action button.
type actionForm struct {
	MAC, Action, Label, CSRF string
	// Refused is the message of this action's refusal, shown beside it.
	Refused string
	// Disabled is why the action does not apply now; the button is
	// disabled and says it on hover.
	Disabled string
	// Confirm, when set, is the sentence the operator must tick before
	// the button does anything (the server checks it too).
	Confirm string
}

type button struct {
	action provision.Action
	label  string
}

var (
	lifecycleButtons = []button{{provision.Release, "Release"}, {provision.ReleaseWipe, "Release and wipe disks"}, {provision.Retry, "Retry"}}
	powerButtons     = []button{{provision.PowerOn, "Power on"}, {provision.PowerOff, "Power off"}, {provision.PowerCycle, "Power cycle"}}
)

func (d *Dashboard) actionsFor(ctx context.Context, h *inventory.Host, csrf string, refused map[string]string) hostActions {
	a := hostActions{MAC: h.MAC, CSRF: csrf, Current: h.Image}
	form := func(b button) actionForm {
		f := actionForm{MAC: h.MAC, Action: string(b.action), Label: b.label, CSRF: csrf, Refused: refused[string(b.action)],
			Confirm: confirmFor(h, b.action)}
		if err := provision.Check(h, b.action); err != nil {
			f.Disabled = err.Error()
		}
		return f
	}
	for _, b := range lifecycleButtons {
		a.Lifecycle = append(a.Lifecycle, form(b))
	}
	if h.BMC != nil {
		for _, b := range powerButtons {
			a.Power = append(a.Power, form(b))
		}
	}
	a.Deploy = form(button{provision.Deploy, "Deploy"})
	if d.cfg.Images != nil {
		a.HasImages = true
		imgs, err := d.cfg.Images.List(ctx)
		if err != nil {
			a.ImagesErr = err.Error()
		}
		a.Images = imgs
	}
	return a
}

// confirmFor is the warning an action needs ticked first, or "" for none:
// a wipe destroys the disks' data; power off or a cycle cuts a running
// installation or install.
func confirmFor(h *inventory.Host, a provision.Action) string {
	switch a {
	case provision.ReleaseWipe:
		return "Erase the partition tables and the start and end of every disk of this host"
	case provision.PowerOff, provision.PowerCycle:
		switch h.State {
		case inventory.StateActive, inventory.StateDeployed:
			return "Cut the power of the installed system that runs on this host"
		case inventory.StateDeploying:
			return "Cut the power in the middle of the deploy (it will fail)"
		}
	}
	return ""
}
