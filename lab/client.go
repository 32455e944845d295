package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// CLI runs a rackboot client command against the lab's appliance (from
// this machine, over the veth) and returns its combined output.
func (l *Lab) CLI(ctx context.Context, env []string, args ...string) (string, error) {
	args = append(args, "--server", l.API, "--data-dir", l.DataDir)
	cmd := exec.CommandContext(ctx, l.Binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Exec runs argv inside the lab's namespace (where the VMs' addresses
// are reachable) and returns its combined output.
func (l *Lab) Exec(ctx context.Context, argv ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.Namespace}, argv...)...).CombinedOutput()
	return string(out), err
}

// Power asks the appliance to power a host on, off or cycle it through
// its BMC.
func (l *Lab) Power(ctx context.Context, mac, op string) error {
	if out, err := l.CLI(ctx, nil, "host", "power", mac, op); err != nil {
		return fmt.Errorf("power %s %s: %w: %s", mac, op, err, strings.TrimSpace(out))
	}
	return nil
}

// Get reads one API resource (a path under /api/v1) into v as the
// operator.
func (l *Lab) Get(ctx context.Context, path string, v any) error {
	tok, err := l.Token()
	if err != nil {
		return fmt.Errorf("operator token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.API+"/api/v1"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	c, err := l.httpClient()
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Host reads one host from the inventory.
func (l *Lab) Host(ctx context.Context, mac string) (inventory.Host, error) {
	var h inventory.Host
	err := l.Get(ctx, "/hosts/"+url.PathEscape(mac), &h)
	return h, err
}

// Events reads a host's events, oldest first.
func (l *Lab) Events(ctx context.Context, mac string) ([]inventory.Event, error) {
	var v struct{ Events []inventory.Event }
	err := l.Get(ctx, "/hosts/"+url.PathEscape(mac)+"/events?limit=10000", &v)
	ev := v.Events
	if len(ev) > 1 && ev[0].Seq > ev[len(ev)-1].Seq { // the API gives the newest first
		slices.Reverse(ev)
	}
	return ev, err
}

// ConsoleTail is the last n lines of the VM's serial console.
func ConsoleTail(v VM, n int) string {
	b, _ := os.ReadFile(v.Console())
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
