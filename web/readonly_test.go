package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/cluster"
	"github.com/rackboot/rackboot/images"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/web/dashboard"
)

// TestGetsWriteNothing walks every route of the operator API and of the
// dashboard and calls each GET (and HEAD) with good credentials, on an
// inventory with a host in every state, a config and an image: the
// store's revision, which every committed write moves on, never changes.
func TestGetsWriteNothing(t *testing.T) {
	store, err := inventory.Open(t.TempDir(), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	imgs, err := images.Open(t.TempDir(), images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 1<<20)
	disk[510], disk[511] = 0x55, 0xaa
	if _, err := imgs.Import(context.Background(), bytes.NewReader(disk), images.ImportOptions{Name: "testos"}); err != nil {
		t.Fatal(err)
	}
	lc := lifecycle(store, imgs)
	hosts := populate(t, store, lc)
	s := &Server{Store: store, Lifecycle: lc, Token: testToken, Images: imgs, Backup: store, Appliances: oneAppliance{}}
	api := s.Handler()
	hs := httptest.NewServer(api)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close() })
	srv := hs.URL
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 5 * time.Second}
	if resp, err := c.PostForm(srv+"/ui/login", url.Values{"token": {testToken}}); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", resp, err)
	}

	d, err := dashboard.New(dashboard.Config{Store: store, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, routes := range []chi.Routes{api.(chi.Routes), d.Routes()} {
		err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			if method != http.MethodGet && method != http.MethodHead {
				return nil
			}
			for _, mac := range hosts {
				path := strings.NewReplacer("{mac}", mac, "{name}", "testos", "{action}", "release").Replace(route)
				path = strings.ReplaceAll(path, "/*", "/")
				rev := store.Revision()
				get(t, c, method, srv+path)
				if r := store.Revision(); r != rev {
					t.Errorf("%s %s (%s) wrote: revision %d → %d", method, route, path, rev, r)
				}
				n++
				if !strings.Contains(route, "{mac}") {
					break
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n < 30 {
		t.Fatalf("called %d GETs, expected at least 30", n)
	}
}

// populate puts a host in every lifecycle state, a config selecting them
// and a deploy with its seed, and returns the MACs.
func populate(t *testing.T, store *inventory.DB, lc *provision.Lifecycle) []string {
	t.Helper()
	ctx := context.Background()
	var macs []string
	for i, st := range inventory.States {
		mac := "52:54:00:00:01:0" + string(rune('0'+i))
		h := inventory.Host{MAC: mac, State: st, Labels: map[string]string{"rack": "r1"}}
		if st == inventory.StateDeploying {
			h.State = inventory.StateReady
		}
		if st == inventory.StateFailed {
			h.Failure = &inventory.Failure{Cause: "test", From: inventory.StateDeploying}
		}
		if _, err := store.CreateHost(ctx, h, "test"); err != nil {
			t.Fatal(err)
		}
		if st == inventory.StateDeploying {
			if _, err := lc.RequestDeploy(ctx, mac, provision.DeployRequest{Image: "testos"}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		macs = append(macs, mac)
	}
	c := inventory.AgentConfig{Name: "motd", Selector: map[string]string{"rack": "r1"}, Body: "- kind: file\n  name: /etc/motd\n"}
	if _, err := store.CreateAgentConfig(ctx, c, "test"); err != nil {
		t.Fatal(err)
	}
	return macs
}

// get calls a route and reads (a bit of) its answer; a stream that does
// not end is cut after a moment.
func get(t *testing.T, c *http.Client, method, u string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, u, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // a live stream, cut
		}
		t.Fatalf("%s %s: %v", method, u, err)
	}
	buf := make([]byte, 4096)
	resp.Body.Read(buf)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s: %d", method, u, resp.StatusCode)
	}
}

// oneAppliance lists a fixed appliance, so the route answers 200 here;
// cmd/rackboot tests the real list on etcd.
type oneAppliance struct{}

func (oneAppliance) Appliances(context.Context) ([]cluster.Status, error) {
	return []cluster.Status{{Appliance: cluster.Appliance{ID: "a"}, Leads: []string{}}}, nil
}
