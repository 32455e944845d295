package web

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

// keyJSON is an SSH public key with options and quotes in its comment, as
// a JSON string: the seed takes keys of any form.
const keyJSON = `"from=\"10.0.0.0/8\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFpQabVQCr8D44JBIvzOxdG+x+XOMRuI9+5H0hlMQlr2 op@desk \"quoted\" \\back"`

func TestDeployAction(t *testing.T) {
	a := newAPITest(t)
	imgs, err := images.Open(t.TempDir(), images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 1<<20)
	disk[510], disk[511] = 0x55, 0xaa
	if _, err := imgs.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "testos"}); err != nil {
		t.Fatal(err)
	}
	a.srv.Config.Handler = (&Server{Store: a.store, Lifecycle: lifecycle(a.store, imgs), Token: testToken, Images: imgs}).Handler()
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:01","state":"ready"}`)
	a.call("POST", "/api/v1/hosts", `{"mac":"52:54:00:00:00:02"}`)
	for _, tc := range []struct {
		mac, body string
		code      int
		mention   string
	}{
		{"52:54:00:00:00:01", `{}`, 400, "image"},
		{"52:54:00:00:00:01", `{"image":"nope"}`, 404, "nope"},
		{"52:54:00:00:00:02", `{"image":"testos"}`, 409, "discovered"},
		{"52:54:00:00:00:01", `{"image":"testos","disk":{"path":7}}`, 400, "path"},
		{"52:54:00:00:00:01", `{"image":"testos","ssh_keys":[` + keyJSON + `,"ssh-ed25519 AAAA \"quoted\""]}`, 400, "ssh_keys[1]: invalid seed: not an SSH public key"},
		{"52:54:00:00:00:01", `{"image":"testos","user_data":"packages: [vim]"}`, 400, "want a cloud-config (first line #cloud-config) or a script (first line #!)"},
		{"52:54:00:00:00:01", `{"image":"testos","user_data":"#cloud-config\n- a\n"}`, 400, "a cloud-config is a YAML mapping"},
	} {
		if code, body := a.call("POST", "/api/v1/hosts/"+tc.mac+"/actions/deploy", tc.body); code != tc.code || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %s: %d %s, want %d naming %q", tc.mac, tc.body, code, body, tc.code, tc.mention)
		}
	}
	if h, _ := a.store.Host(t.Context(), "52:54:00:00:00:01"); h.State != inventory.StateReady || h.Image != "" {
		t.Fatalf("refused deploys changed the host: %+v", h)
	}
	code, body := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/deploy", `{"image":"testos","disk":{"path":"/dev/vdb"},"ssh_keys":[`+keyJSON+`],"user_data":"#cloud-config\nruncmd: [[touch, /x]]\n"}`)
	h, _ := a.store.Host(t.Context(), "52:54:00:00:00:01")
	if code != 200 || h.State != inventory.StateDeploying || h.Image != "testos" || h.Deploy == nil || h.Deploy.DiskPath != "/dev/vdb" || len(h.Deploy.SSHKeys) != 1 ||
		strings.Join(h.Deploy.UserData, ",") != "host" {
		t.Fatalf("deploy: %d %s; host %+v", code, body, h)
	}
}

// TestReleaseWipe: release with {"wipe":true} returns a deployed host to
// ready with a wipe request and its event; wipe on anything but release,
// or on an illegal release, is refused and changes nothing.
func TestReleaseWipe(t *testing.T) {
	a := newAPITest(t)
	ctx := t.Context()
	a.store.CreateHost(ctx, inventory.Host{MAC: "52:54:00:00:00:01", State: inventory.StateDeployed, Image: "testos"}, "test")
	a.store.CreateHost(ctx, inventory.Host{MAC: "52:54:00:00:00:02", State: inventory.StateDiscovered}, "test")
	for _, tc := range []struct {
		mac, action, body string
		code              int
		mention           string
	}{
		{"52:54:00:00:00:01", "retry", `{"wipe":true}`, 400, "applies only to release"},
		{"52:54:00:00:00:01", "retry", ``, 409, "only to failed"},
		{"52:54:00:00:00:02", "release", `{"wipe":true}`, 409, "discovered → ready"},
		{"52:54:00:00:00:01", "release", `{"wipe":"yes"}`, 400, "wipe"},
	} {
		before, _ := a.store.Host(ctx, tc.mac)
		if code, body := a.call("POST", "/api/v1/hosts/"+tc.mac+"/actions/"+tc.action, tc.body); code != tc.code || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %s %s: %d %s, want %d naming %q", tc.mac, tc.action, tc.body, code, body, tc.code, tc.mention)
		}
		if after, _ := a.store.Host(ctx, tc.mac); after.Version != before.Version {
			t.Errorf("%s %s %s: refused but the host changed", tc.mac, tc.action, tc.body)
		}
	}
	code, body := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/release", `{"wipe":true,"cause":"rack move"}`)
	h, _ := a.store.Host(ctx, "52:54:00:00:00:01")
	if code != 200 || h.State != inventory.StateReady || h.Wipe == nil || h.Wipe.Actor == "" || h.Wipe.RequestedAt.IsZero() {
		t.Fatalf("release --wipe: %d %s; host %+v", code, body, h)
	}
	if !strings.Contains(body, `"wipe": {`) || !strings.Contains(body, `"requested_at"`) {
		t.Errorf("answer does not show the wipe request: %s", body)
	}
	ev, _ := a.store.Events(ctx, h.MAC, 2)
	if ev[0].Type != inventory.EventTransition || ev[0].Cause != "release: rack move; quick wipe of every disk requested" || ev[1].Type != inventory.EventCreated {
		t.Errorf("events %+v, want one transition that names the wipe", ev)
	}
	// A plain release leaves no wipe request.
	a.store.CreateHost(ctx, inventory.Host{MAC: "52:54:00:00:00:03", State: inventory.StateActive}, "test")
	a.call("POST", "/api/v1/hosts/52:54:00:00:00:03/actions/release", "")
	if h, _ := a.store.Host(ctx, "52:54:00:00:00:03"); h.State != inventory.StateReady || h.Wipe != nil {
		t.Errorf("plain release: %+v", h)
	}
}
