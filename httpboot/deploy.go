package httpboot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/httperr"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/images/testimage"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// ImageSource is what deploys need of the image store.
type ImageSource interface {
	Image(name string) (images.Image, error)
	Open(name string) (*os.File, images.Image, error)
}

// cannotDeploy is a deploy that nothing but an operator can mend (its
// image removed from the store, a seed value the format cannot carry):
// the host fails at once with this cause rather than at its timeout.
type cannotDeploy struct{ cause string }

func (e *cannotDeploy) Error() string { return e.cause }

func (s *Server) deployRoutes(r chi.Router) {
	r.Get("/machine/v1/image", s.handle(s.machine(s.image)))
	r.Post("/machine/v1/progress", s.handle(s.machine(s.progress)))
	r.Post("/machine/v1/deployed", s.handle(s.machine(s.deployed)))
	r.Post("/machine/v1/failed", s.handle(s.machine(s.failed)))
	r.Post("/machine/v1/wiped", s.handle(s.machine(s.wiped)))
	r.Post("/machine/v1/firstboot", s.handle(s.agent(s.firstBoot)))
}

// deployFor builds the installer's instructions for a deploying host. The
// seed carries a fresh agent token (older ones are revoked) so the new OS
// can run the agent and check in.
func (s *Server) deployFor(ctx context.Context, h *inventory.Host) (*machineapi.Deploy, error) {
	if s.Images == nil {
		return nil, httperr.Errorf(http.StatusServiceUnavailable, "no image store configured")
	}
	img, err := s.Images.Image(h.Image)
	if errors.Is(err, images.ErrNotFound) {
		return nil, &cannotDeploy{fmt.Sprintf("image %q is no longer in the image store", h.Image)}
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: image %q: %w", h.MAC, h.Image, err)
	}
	seed, err := s.seed(ctx, h)
	if err != nil {
		return nil, err
	}
	d := &machineapi.Deploy{ImageURL: s.Boot.URL + "/machine/v1/image?mac=" + h.MAC, SHA256: img.SHA256, Size: img.Size,
		Compression: string(img.Compression), Seed: seed}
	if p := h.Deploy; p != nil {
		d.Disk = machineapi.DiskHint{Path: p.DiskPath, Serial: p.DiskSerial, MinSize: p.DiskMinSize}
	}
	return d, nil
}

// seed renders the NoCloud meta-data and user-data: the seed of a
// rackboot image (images/testimage: hostname, SSH keys and the rackboot
// mapping, in the line format its README fixes), then cloud-init's
// instructions to install the agent as a service.
func (s *Server) seed(ctx context.Context, h *inventory.Host) (machineapi.Seed, error) {
	hand, err := s.AgentHandoff(ctx, h.MAC)
	if err != nil {
		return machineapi.Seed{}, err
	}
	sd := testimage.Seed{Hostname: h.Hostname, URL: hand.URL, Token: hand.Token, MAC: h.MAC,
		Agent: hand.URL + "/machine/v1/agent/binary?mac=" + h.MAC}
	if sd.Hostname == "" {
		sd.Hostname = "rackboot-" + strings.ReplaceAll(h.MAC, ":", "")
	}
	if h.Deploy != nil {
		sd.SSHAuthorizedKeys = h.Deploy.SSHKeys
	}
	if err := sd.Validate(); err != nil {
		return machineapi.Seed{}, &cannotDeploy{err.Error()}
	}
	install, err := agentUserData(hand)
	if err != nil {
		return machineapi.Seed{}, err
	}
	user := string(sd.UserData()) + strings.TrimPrefix(install, "#cloud-config\n")
	return machineapi.Seed{MetaData: string(sd.MetaData()), UserData: user}, nil
}

// image streams the deploying host's image blob, as stored (compressed or
// not), with Range support so an installer can resume.
func (s *Server) image(w http.ResponseWriter, r *http.Request, mac string) error {
	h, err := s.Store.Host(r.Context(), mac)
	if err != nil {
		return err
	}
	if h.State != inventory.StateDeploying || s.Images == nil {
		return httperr.Errorf(http.StatusConflict, "host %s is %s: no image to serve", mac, h.State)
	}
	f, img, err := s.Images.Open(h.Image)
	if err != nil {
		return httperr.Errorf(http.StatusNotFound, "host %s: image %q: %v", mac, h.Image, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+img.StoredSHA256+`"`)
	w.Header().Set("X-Image-SHA256", img.SHA256)
	w.Header().Set("X-Image-Size", fmt.Sprint(img.Size))
	w.Header().Set("X-Image-Compression", string(img.Compression))
	http.ServeContent(w, r, "", img.Created, f)
	return nil
}
