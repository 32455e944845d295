package bmc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// ErrNotApplied: the BMC accepted a boot override and reports another
// one in force (some vendors' Redfish take a one-time override and drop
// it). The boot server's answer still decides what the machine boots.
var ErrNotApplied = errors.New("boot override accepted but not applied")

// bootOverride is the boot override a BMC reports.
type bootOverride struct {
	Device     string // "pxe", "disk", "none", or the BMC's own word
	Enabled    bool   // an override is in force for the next boot(s)
	Persistent bool   // for every boot, not only the next
	// DeviceOnly: the BMC's answer is trusted for the device alone (IPMI:
	// the valid bit expires after 60 s on many BMCs, and OpenIPMI's
	// ipmi_sim reports neither it nor persistence).
	DeviceOnly bool
}

func (o bootOverride) String() string {
	switch {
	case o.DeviceOnly:
		return o.Device
	case !o.Enabled:
		return "no override (" + o.Device + ", disabled)"
	case o.Persistent:
		return o.Device + " for every boot"
	}
	return o.Device + " once"
}

// checkBoot reads the override back after setting it and fails with
// ErrNotApplied, saying what the BMC reports, unless it is the one asked.
func (c *conn) checkBoot(ctx context.Context, dev BootDevice, persistent bool) error {
	var got bootOverride
	err := c.command(ctx, "read boot override", func() (err error) {
		got, err = c.s.BootOverride(ctx)
		return err
	})
	if err != nil {
		return err
	}
	applied := got.Device == string(dev) && (got.DeviceOnly || got.Enabled && got.Persistent == persistent)
	if !applied {
		want := bootOverride{Device: string(dev), Enabled: true, Persistent: persistent}
		return fmt.Errorf("%w: asked for %s, the BMC reports %s", ErrNotApplied, want, got)
	}
	return nil
}

// redfishBoot reads the Boot object of the first ComputerSystem: the
// BootSourceOverride fields, which bmclib's getter reduces to less than
// this needs (it has no Disabled).
func (s *redfishSession) BootOverride(ctx context.Context) (bootOverride, error) {
	var systems struct {
		Members []struct {
			ID string `json:"@odata.id"`
		}
	}
	if err := s.get(ctx, "/redfish/v1/Systems", &systems); err != nil {
		return bootOverride{}, err
	}
	if len(systems.Members) == 0 {
		return bootOverride{}, errors.New("no ComputerSystem on the BMC")
	}
	var sys struct {
		Boot struct {
			Target  string `json:"BootSourceOverrideTarget"`
			Enabled string `json:"BootSourceOverrideEnabled"`
		}
	}
	if err := s.get(ctx, systems.Members[0].ID, &sys); err != nil {
		return bootOverride{}, err
	}
	dev := map[string]string{"Pxe": string(BootPXE), "Hdd": string(BootDisk), "None": "none"}[sys.Boot.Target]
	if dev == "" {
		dev = strings.ToLower(sys.Boot.Target)
	}
	return bootOverride{Device: dev, Enabled: sys.Boot.Enabled == "Once" || sys.Boot.Enabled == "Continuous",
		Persistent: sys.Boot.Enabled == "Continuous"}, nil
}

// get reads one Redfish resource with basic auth, on the session's
// transport (so under the operation's context).
func (s *redfishSession) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.user, s.pass)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Transport: s.transport}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == 401 || resp.StatusCode == 403:
		return fmt.Errorf("%w: GET %s: %s", ErrAuth, path, resp.Status)
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: GET %s: %s", ErrBMCFault, path, resp.Status)
	case resp.StatusCode >= 400:
		return fmt.Errorf("%w: GET %s: %s", ErrRejected, path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

func redfishBase(t Target) string {
	a := t.Address
	if !strings.Contains(a, "://") {
		a = "https://" + a
	}
	return a + ":" + strconv.Itoa(t.port())
}
