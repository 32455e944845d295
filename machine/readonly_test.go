package machine

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rackboot/rackboot/inventory"
)

// TestGetsWriteNothing walks every route of the machine side and calls each
// GET (and HEAD), for a host in every lifecycle state and for an unknown
// MAC, with the credential each route takes (a boot token, an agent token):
// the store's revision, which every committed write moves on, never
// changes. This is what makes naming a MAC harmless: asking is reading.
func TestGetsWriteNothing(t *testing.T) {
	b := newBootTest(t, nil)
	ctx := context.Background()
	b.importImage("testos", mbrImage())
	macs := []string{"52:54:00:00:02:ff"} // unknown
	for i, st := range inventory.States {
		mac := "52:54:00:00:02:0" + string(rune('0'+i))
		h := inventory.Host{MAC: mac, State: st}
		if st == inventory.StateFailed {
			h.Failure = &inventory.Failure{Cause: "test", From: inventory.StateReady}
		}
		if st == inventory.StateDeploying {
			b.deploying(h, "testos")
		} else if _, err := b.store.CreateHost(ctx, h, "test"); err != nil {
			t.Fatal(err)
		}
		macs = append(macs, mac)
	}
	n := 0
	err := chi.Walk(b.boot.routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodGet && method != http.MethodHead {
			return nil
		}
		for _, mac := range macs {
			agentTok, _ := b.lc.AgentToken(ctx, mac, false, "test")
			bootTok := "none" // a host that boots its disk has no boot token
			if h, err := b.store.Host(ctx, mac); err != nil || (h.State != inventory.StateDeployed && h.State != inventory.StateActive) {
				bootTok = b.token(mac)
			}
			for _, tok := range []string{bootTok, agentTok} {
				path := strings.NewReplacer("{name}", "ipxe.efi", "{mac}", mac).Replace(route)
				u := b.srv.URL + path + "?mac=" + mac + "&wait=0s&version=x"
				rev := b.store.Revision()
				req, _ := http.NewRequest(method, u, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
				if err != nil {
					return err
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 500 {
					t.Errorf("%s %s: %d", method, u, resp.StatusCode)
				}
				if r := b.store.Revision(); r != rev {
					t.Errorf("%s %s (%s) wrote: revision %d → %d", method, route, u, rev, r)
				}
				n++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("called %d GETs, expected at least 100", n)
	}
}
