package web

import (
	"errors"
	"net/http"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/images/testimage"
	"github.com/rackboot/rackboot/inventory"
)

type deployBody struct {
	Image string `json:"image"`
	Disk  struct {
		Path    string `json:"path"`
		Serial  string `json:"serial"`
		MinSize uint64 `json:"min_size"`
	} `json:"disk"`
	SSHKeys []string `json:"ssh_keys"`
	Cause   string   `json:"cause"`
}

// deployAction assigns an image to a ready host and moves it to deploying.
// The installer waiting on the host picks the instruction up from its
// long-poll at once; a host with a BMC that is not powered on is
// netbooted into the installer.
func (s *Server) deployAction(w http.ResponseWriter, r *http.Request, mac string) error {
	var b deployBody
	if err := s.decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Image == "" {
		return httperr.Errorf(http.StatusBadRequest, "request body: field \"image\" is required")
	}
	if s.Images == nil {
		return httperr.Errorf(http.StatusNotImplemented, "no image store is configured on this appliance")
	}
	if _, err := s.Images.Image(b.Image); errors.Is(err, images.ErrNotFound) {
		return httperr.Errorf(http.StatusNotFound, "image %q not found (rackboot image list)", b.Image)
	} else if err != nil {
		return err
	}
	h, err := s.Store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	if h.State != inventory.StateReady {
		return httperr.Errorf(http.StatusConflict, "host %s is %s: deploy needs a ready host (release it first, or retry a failed one)", mac, h.State)
	}
	for i, k := range b.SSHKeys {
		if err := testimage.CheckValue(k); err != nil {
			return httperr.Errorf(http.StatusBadRequest, "request body: ssh_keys[%d]: %v (the seed's format takes no escapes)", i, err)
		}
	}
	plan := &inventory.DeployPlan{DiskPath: b.Disk.Path, DiskSerial: b.Disk.Serial, DiskMinSize: b.Disk.MinSize, SSHKeys: b.SSHKeys}
	if _, err := s.Store.UpdateHost(r.Context(), mac, 0, func(h *inventory.Host) error {
		h.Image, h.Deploy = b.Image, plan
		return nil
	}, inventory.Event{Type: "deploy-requested", Cause: "image " + b.Image, Actor: actor(r)}); err != nil {
		return err
	}
	cause := "deploy " + b.Image
	if b.Cause != "" {
		cause += ": " + b.Cause
	}
	h, err = s.Store.Transition(r.Context(), mac, inventory.StateDeploying, cause, actor(r))
	if err != nil {
		return err
	}
	if h.BMC != nil && h.BMC.PowerState != "on" {
		s.netbootLater(h, actor(r))
	}
	return writeHost(w, http.StatusOK, h)
}
