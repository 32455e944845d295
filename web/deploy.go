package web

import (
	"net/http"

	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/machineapi"
	"github.com/rackboot/rackboot/provision"
)

// deployBody is a deploy request. UserData is the host's own user-data
// part (a cloud-config or a script), merged before the stored parts its
// labels select; SSHKeys are authorized_keys lines in any form sshd takes.
type deployBody struct {
	Image    string              `json:"image"`
	Disk     machineapi.DiskHint `json:"disk"`
	SSHKeys  []string            `json:"ssh_keys"`
	UserData string              `json:"user_data"`
	Cause    string              `json:"cause"`
}

// deployAction asks for a deploy of a ready host (provision.RequestDeploy).
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
	h, err := s.Lifecycle.RequestDeploy(r.Context(), mac, provision.DeployRequest{Image: b.Image, Disk: b.Disk, SSHKeys: b.SSHKeys, UserData: b.UserData, Cause: b.Cause}, actor(r))
	if err != nil {
		return err
	}
	if h.BMC != nil && h.BMC.PowerState != "on" {
		s.netbootLater(h, actor(r))
	}
	return writeHost(w, http.StatusOK, h)
}
