package httpboot

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// Tokens mints and checks per-host boot tokens. A token is bound to one MAC
// and expires, so a token read off one machine's console opens nothing
// else and not for long. It is an HMAC, so nothing needs storing.
type Tokens struct {
	Key []byte           // secret; required
	TTL time.Duration    // lifetime of a minted token; default 24h
	Now func() time.Time // clock; time.Now when nil
}

// ErrBadToken is returned for a token that is malformed, expired or minted
// for another MAC.
var ErrBadToken = fmt.Errorf("bad boot token: %w", inventory.ErrUnauthorized)

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Mint returns a token for mac that expires after TTL.
func (t *Tokens) Mint(mac string) string {
	ttl := t.TTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	exp := binary.BigEndian.AppendUint64(nil, uint64(t.now().Add(ttl).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(exp, t.sum(mac, exp)...))
}

// Verify reports whether token was minted for mac and has not expired.
func (t *Tokens) Verify(token, mac string) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 8+sha256.Size {
		return ErrBadToken
	}
	exp, sum := raw[:8], raw[8:]
	if !hmac.Equal(sum, t.sum(mac, exp)) {
		return ErrBadToken
	}
	if t.now().Unix() > int64(binary.BigEndian.Uint64(exp)) {
		return ErrBadToken
	}
	return nil
}

func (t *Tokens) sum(mac string, exp []byte) []byte {
	m := hmac.New(sha256.New, t.Key)
	m.Write([]byte("rackboot boot token\x00"))
	m.Write([]byte(mac))
	m.Write(exp)
	return m.Sum(nil)
}
