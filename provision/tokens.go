package provision

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rackboot/rackboot/inventory"
)

// Errors of the credential checks. Both wrap inventory.ErrUnauthorized.
var (
	ErrBadBootToken  = fmt.Errorf("bad boot token: %w", inventory.ErrUnauthorized)
	ErrBadAgentToken = fmt.Errorf("bad agent token: %w", inventory.ErrUnauthorized)
)

// tokens mints and checks the machines' tokens: HMACs under keys derived
// from the appliance's sealing key over the host's MAC, UID and a
// generation kept on the host, so nothing else is stored and no clock is
// involved. A deleted and re-enrolled MAC gets a new UID, so its old
// tokens die with the record.
//
// A boot token is of the host's boot generation (Credentials.BootGen) and
// good only once claimed: arming a new boot, or the end of the installer's
// work (deployed), moves the generation on. An agent token is of the
// agent generation (Credentials.AgentGen): a new seed (a deploy, a retry
// of one, a new boot of a deploying host), a release or an operator's
// revoke moves it on.
type tokens struct {
	boot, agent []byte
}

func (t tokens) mintBoot(h *inventory.Host) string {
	return mint(t.boot, "rackboot boot token", h, h.Credentials.BootGen)
}

func (t tokens) verifyBoot(token string, h *inventory.Host) error {
	cr := h.Credentials
	if cr.BootArmed || cr.BootClaimedAt.IsZero() || verify(t.boot, "rackboot boot token", h, token) != cr.BootGen {
		return ErrBadBootToken
	}
	return nil
}

// mint is base64(generation ‖ HMAC(key, purpose, MAC, UID, generation)).
func mint(key []byte, purpose string, h *inventory.Host, gen uint64) string {
	g := binary.BigEndian.AppendUint64(nil, gen)
	return base64.RawURLEncoding.EncodeToString(append(g, sum(key, purpose, h, g)...))
}

// verify returns the generation token was minted under for h, or
// math.MaxUint64 (no generation ever reaches it) when it was not.
func verify(key []byte, purpose string, h *inventory.Host, token string) uint64 {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size || !hmac.Equal(raw[8:], sum(key, purpose, h, raw[:8])) {
		return math.MaxUint64
	}
	return binary.BigEndian.Uint64(raw[:8])
}

func sum(key []byte, purpose string, h *inventory.Host, gen []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose + "\x00" + h.MAC + "\x00" + h.Credentials.UID + "\x00"))
	m.Write(gen)
	return m.Sum(nil)
}

// mintAgent returns the agent token of h's current agent generation.
func (t tokens) mintAgent(h *inventory.Host) string {
	return mint(t.agent, "rackboot agent token", h, h.Credentials.AgentGen)
}

func (t tokens) verifyAgent(token string, h *inventory.Host) error {
	if verify(t.agent, "rackboot agent token", h, token) != h.Credentials.AgentGen {
		return ErrBadAgentToken
	}
	return nil
}

// VerifyBootToken reports whether token is the boot token of the host
// mac's current, claimed boot.
func (l *Lifecycle) VerifyBootToken(ctx context.Context, token, mac string) error {
	h, err := l.store.Host(ctx, mac)
	if err != nil {
		return fmt.Errorf("host %s: %w", mac, ErrBadBootToken)
	}
	if err := l.tokens.verifyBoot(token, &h); err != nil {
		return fmt.Errorf("host %s: %w", mac, err)
	}
	return nil
}

// VerifyAgentToken reports whether token is the current agent token of the
// host mac.
func (l *Lifecycle) VerifyAgentToken(ctx context.Context, token, mac string) error {
	h, err := l.store.Host(ctx, mac)
	if err != nil {
		return fmt.Errorf("host %s: %w", mac, ErrBadAgentToken)
	}
	if err := l.tokens.verifyAgent(token, &h); err != nil {
		return fmt.Errorf("host %s: %w", mac, err)
	}
	return nil
}

// AgentToken gives an operator the agent token of a host, for an agent
// started by hand. With revoke, the host's agent generation moves on first,
// so every token handed out before (the one in its seed included) stops
// working. The token itself is never logged, only that one was minted.
func (l *Lifecycle) AgentToken(ctx context.Context, mac string, revoke bool, actor string) (string, error) {
	cause := "agent token handed out"
	if revoke {
		cause = "agent token handed out; earlier ones revoked"
	}
	h, err := l.modify(ctx, mac, func(h *inventory.Host) (inventory.Edit, error) {
		if revoke {
			h.Credentials.AgentGen++
		}
		return inventory.Edit{Type: "agent-token", Cause: cause, Actor: actor}, nil
	})
	if err != nil {
		return "", err
	}
	if !revoke { // an edit that changes nothing stores no event: log it
		if err := l.store.AppendEvent(ctx, mac, inventory.Event{Type: "agent-token", Cause: cause, Actor: actor}); err != nil {
			return "", err
		}
	}
	return l.tokens.mintAgent(&h), nil
}
