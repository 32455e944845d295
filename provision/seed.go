package provision

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/seed"
)

// checkRequest refuses, before anything is stored, a deploy whose image
// its import found no way to seed, an SSH key sshd would not take, or a
// user-data part cloud-init would not run.
func checkRequest(img images.Image, req DeployRequest) error {
	if img.Layout != nil {
		if err := img.Layout.Seedable(); err != nil {
			return fmt.Errorf("image %q cannot be seeded: %v; deploy an image with a free partition entry or a CIDATA partition: %w", img.Name, err, inventory.ErrConflict)
		}
	}
	for i, k := range req.SSHKeys {
		if err := seed.CheckSSHKey(k); err != nil {
			return fmt.Errorf("ssh_keys[%d]: %v: %w", i, err, inventory.ErrInvalid)
		}
	}
	if req.UserData != "" {
		if err := (seed.Part{Name: hostPart, Body: req.UserData}).Check(); err != nil {
			return fmt.Errorf("%v: %w", err, inventory.ErrInvalid)
		}
	}
	return nil
}

// userDataParts are the parts of h's seed: the request's own, then every
// stored part h's labels select, by name. cloud-init keeps an earlier
// part's value of a key set twice (lists are appended), so the host's own
// part comes first to win over its labels'.
func userDataParts(h *inventory.Host, labelled []inventory.UserData, own string) []seed.Part {
	var parts []seed.Part
	if own != "" {
		parts = append(parts, seed.Part{Name: hostPart, Body: own})
	}
	for _, u := range labelled {
		if u.Selects(h.Labels) {
			parts = append(parts, seed.Part{Name: u.Name, Body: u.Body})
		}
	}
	return parts
}

func partNames(parts []seed.Part) []string {
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	return names
}

// newInstanceID is a cloud-init instance-id new for each deploy, so the
// installed OS runs its once-per-instance modules (users, keys, hostname,
// growpart, the agent's script) again after every deploy.
func newInstanceID(mac string) (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "rackboot-" + strings.ReplaceAll(mac, ":", "") + "-" + hex.EncodeToString(b), nil
}
