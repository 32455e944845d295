package provision

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// ErrClaimed refuses a claim of credentials someone claimed already: a
// boot's token, a deploy's seed.
var ErrClaimed = fmt.Errorf("credentials claimed already: %w", inventory.ErrConflict)

func claimedError(h *inventory.Host) error {
	cr := h.Credentials
	return fmt.Errorf("host %s: the credentials of this boot were claimed at %s from %s; "+
		"release the host, or power it on or cycle it through rackboot, to allow a new boot: %w",
		h.MAC, cr.BootClaimedAt.Format(time.RFC3339), cr.BootClaimedFrom, ErrClaimed)
}

// nonceHash checks a claim's nonce and returns what the host keeps of it.
func nonceHash(nonce string) (string, error) {
	if len(nonce) < 16 || len(nonce) > 64 {
		return "", fmt.Errorf("claim: nonce of %d bytes, want 16 to 64 random bytes of text: %w", len(nonce), inventory.ErrInvalid)
	}
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:]), nil
}

// refusalEvery is the least time between two claim-refused events of one
// host: a host hammered with claims keeps a readable log.
const refusalEvery = time.Minute

// refusals remembers when each host last had a refusal logged.
type refusals struct {
	mu   sync.Mutex
	last map[string]time.Time
	n    atomic.Uint64 // refusals, logged or not
}

// due reports whether a refusal of mac is to be logged now.
func (r *refusals) due(mac string, now time.Time) bool {
	r.n.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]time.Time{}
	}
	if now.Sub(r.last[mac]) < refusalEvery {
		return false
	}
	if len(r.last) > 4096 { // forget hosts not refused lately
		for m, t := range r.last {
			if now.Sub(t) >= refusalEvery {
				delete(r.last, m)
			}
		}
	}
	r.last[mac] = now
	return true
}

// refused logs a refused claim on the host (at most once a minute) and in
// the appliance's log.
func (l *Lifecycle) refused(ctx context.Context, mac string, err error, from string) {
	if !l.refusals.due(mac, l.now()) {
		return
	}
	l.log.Warn("claim refused", "mac", mac, "from", from, "err", err)
	e := inventory.Event{Type: "claim-refused", Cause: fmt.Sprintf("from %s: %v", from, err), Actor: "rackboot"}
	if aerr := l.store.AppendEvent(ctx, mac, e); aerr != nil {
		l.log.Warn("log a refused claim", "mac", mac, "err", aerr)
	}
}

// ArmBoot lets the host's next boot of the installer claim its
// credentials: the caller (web) is about to power the host on or cycle it
// through its BMC, or the operator says it will reboot. Every boot token
// handed out before ends. A deploying host gets a new seed and agent
// token, since the installer that claimed the old seed is gone.
func (l *Lifecycle) ArmBoot(ctx context.Context, mac, cause, actor string) (inventory.Host, error) {
	return l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if !installerState(h.State) {
			return inventory.Edit{}, nil // it boots its disk: no installer to arm for
		}
		arm(h)
		return inventory.Edit{Type: "boot-armed", Cause: withCause("a new boot may claim its credentials", cause), Actor: actor}, nil
	})
}

// arm moves h to a new boot generation, open to a claim; a deploying host
// gets a new agent token and its seed may be claimed again.
func arm(h *inventory.Host) {
	cr := &h.Credentials
	cr.BootGen++
	cr.BootArmed, cr.BootClaimedAt, cr.BootClaimedFrom, cr.BootNonce = true, time.Time{}, "", ""
	if h.State == inventory.StateDeploying || (h.State == inventory.StateFailed && h.Failure != nil && h.Failure.From == inventory.StateDeploying) {
		newAgentGen(h)
	}
}

// disarm ends the boot: its token dies and no claim is taken until a new
// boot is armed.
func disarm(h *inventory.Host) {
	cr := &h.Credentials
	cr.BootGen++
	cr.BootArmed, cr.BootNonce = false, ""
}
