package provision

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Errors of the credential checks. Both wrap inventory.ErrUnauthorized.
var (
	ErrBadBootToken  = fmt.Errorf("bad boot token: %w", inventory.ErrUnauthorized)
	ErrBadAgentToken = fmt.Errorf("bad agent token: %w", inventory.ErrUnauthorized)
)

// tokens mints and checks the machines' tokens. Both kinds are HMACs under
// keys derived from the appliance's sealing key, so nothing is stored
// beyond the host's generation.
//
// A boot token is bound to one MAC and expires after ttl: a token read off
// one machine's console opens nothing else and not for long.
//
// An agent token is bound to one host record (its MAC and UID) and to the
// host's agent generation; moving the generation on (a new deploy, a
// release, an operator's revoke) ends every earlier token, and a deleted
// and re-enrolled MAC gets a new UID, so no clock is involved.
type tokens struct {
	boot, agent []byte
	ttl         time.Duration
	now         func() time.Time
}

// mintBoot returns a boot token for mac that expires after ttl.
func (t tokens) mintBoot(mac string) string {
	exp := binary.BigEndian.AppendUint64(nil, uint64(t.now().Add(t.ttl).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(exp, t.bootSum(mac, exp)...))
}

func (t tokens) verifyBoot(token, mac string) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return ErrBadBootToken
	}
	exp, sum := raw[:8], raw[8:]
	if !hmac.Equal(sum, t.bootSum(mac, exp)) || t.now().Unix() > int64(binary.BigEndian.Uint64(exp)) {
		return ErrBadBootToken
	}
	return nil
}

func (t tokens) bootSum(mac string, exp []byte) []byte {
	m := hmac.New(sha256.New, t.boot)
	m.Write([]byte("rackboot boot token\x00"))
	m.Write([]byte(mac))
	m.Write(exp)
	return m.Sum(nil)
}

// mintAgent returns the agent token of h's current agent generation.
func (t tokens) mintAgent(h *inventory.Host) string {
	gen := binary.BigEndian.AppendUint64(nil, h.Credentials.AgentGen)
	return base64.RawURLEncoding.EncodeToString(append(gen, t.agentSum(h, gen)...))
}

func (t tokens) verifyAgent(token string, h *inventory.Host) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return ErrBadAgentToken
	}
	gen, sum := raw[:8], raw[8:]
	if !hmac.Equal(sum, t.agentSum(h, gen)) || binary.BigEndian.Uint64(gen) != h.Credentials.AgentGen {
		return ErrBadAgentToken
	}
	return nil
}

func (t tokens) agentSum(h *inventory.Host, gen []byte) []byte {
	m := hmac.New(sha256.New, t.agent)
	m.Write([]byte("rackboot agent token\x00"))
	m.Write([]byte(h.MAC + "\x00" + h.Credentials.UID + "\x00"))
	m.Write(gen)
	return m.Sum(nil)
}

// BootToken mints a boot token for mac: the installer's credential, handed
// out in its kernel command line.
func (l *Lifecycle) BootToken(mac string) string { return l.tokens.mintBoot(mac) }

// VerifyBootToken reports whether token is a good boot token of mac.
func (l *Lifecycle) VerifyBootToken(token, mac string) error {
	if err := l.tokens.verifyBoot(token, mac); err != nil {
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
