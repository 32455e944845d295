package web

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
)

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
	a.srv.Config.Handler = (&Server{Store: a.store, Token: testToken, Images: imgs}).Handler()
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
	} {
		if code, body := a.call("POST", "/api/v1/hosts/"+tc.mac+"/actions/deploy", tc.body); code != tc.code || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %s: %d %s, want %d naming %q", tc.mac, tc.body, code, body, tc.code, tc.mention)
		}
	}
	if h, _ := a.store.Host(t.Context(), "52:54:00:00:00:01"); h.State != inventory.StateReady || h.Image != "" {
		t.Fatalf("refused deploys changed the host: %+v", h)
	}
	code, body := a.call("POST", "/api/v1/hosts/52:54:00:00:00:01/actions/deploy", `{"image":"testos","disk":{"path":"/dev/vdb"},"ssh_keys":["ssh-ed25519 AAAA k"]}`)
	h, _ := a.store.Host(t.Context(), "52:54:00:00:00:01")
	if code != 200 || h.State != inventory.StateDeploying || h.Image != "testos" || h.Deploy == nil || h.Deploy.DiskPath != "/dev/vdb" || len(h.Deploy.SSHKeys) != 1 {
		t.Fatalf("deploy: %d %s; host %+v", code, body, h)
	}
}
