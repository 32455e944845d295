package web

import (
	"context"
	"net/http"

	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/httperr"
)

// ApplianceLister lists the appliances sharing this inventory;
// *cluster.Member has it.
type ApplianceLister interface {
	Appliances(ctx context.Context) ([]cluster.Status, error)
}

// listAppliances answers GET /api/v1/appliances: every live appliance
// with its networks and the networks whose DHCP it leads.
func (s *Server) listAppliances(w http.ResponseWriter, r *http.Request) error {
	if s.Appliances == nil {
		return httperr.Errorf(http.StatusNotImplemented, "this appliance keeps its inventory alone (bbolt); appliances are listed with --etcd-endpoints")
	}
	list, err := s.Appliances.Appliances(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"appliances": list})
	return nil
}
