package inventory

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AgentTokenTTL is how long an agent token stays valid after it is minted.
// Agents run for the life of an installation, so it is long; revocation
// (MintAgentToken with revoke) is what ends a token early.
const AgentTokenTTL = 365 * 24 * time.Hour

// ErrBadAgentToken is returned for an agent token that is malformed,
// expired, revoked, minted for another MAC, or older than its host.
var ErrBadAgentToken = fmt.Errorf("bad agent token: %w", ErrUnauthorized)

// bucketAgentTokens holds each host's token generation (MAC → uint64).
// A token carries the generation it was minted under; bumping it revokes
// every earlier token of the host at once.
var bucketAgentTokens = []byte("agent_tokens")

// agentTokenLen is generation (8) + issued-at (8) + HMAC-SHA256 (32).
const agentTokenLen = 8 + 8 + sha256.Size

// MintAgentToken returns a token that authenticates the agent of host mac
// to the machine-facing side, and when it expires. With revoke, every token
// minted for the host before is refused from now on. It is an HMAC under a
// key derived from the data dir's secret key; only the generation is stored.
func (db *DB) MintAgentToken(ctx context.Context, mac string, revoke bool) (string, time.Time, error) {
	if _, err := db.Host(ctx, mac); err != nil {
		return "", time.Time{}, err
	}
	gen, err := db.agentTokenGen(mac, revoke)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint agent token for %s: %w", mac, err)
	}
	iat := db.now().Unix()
	raw := binary.BigEndian.AppendUint64(nil, gen)
	raw = binary.BigEndian.AppendUint64(raw, uint64(iat))
	raw = append(raw, db.agentTokenSum(mac, raw)...)
	return base64.RawURLEncoding.EncodeToString(raw), time.Unix(iat, 0).Add(AgentTokenTTL).UTC(), nil
}

// VerifyAgentToken reports whether token was minted for mac, is of the
// host's current generation, was minted after the host was created (so a
// deleted and re-enrolled MAC does not inherit old tokens), and has not
// expired.
func (db *DB) VerifyAgentToken(ctx context.Context, token, mac string) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != agentTokenLen {
		return ErrBadAgentToken
	}
	if !hmac.Equal(raw[16:], db.agentTokenSum(mac, raw[:16])) {
		return ErrBadAgentToken
	}
	h, err := db.Host(ctx, mac)
	if err != nil {
		return ErrBadAgentToken
	}
	iat := int64(binary.BigEndian.Uint64(raw[8:16]))
	if iat < h.CreatedAt.Unix() || db.now().After(time.Unix(iat, 0).Add(AgentTokenTTL)) {
		return ErrBadAgentToken
	}
	gen, err := db.agentTokenGen(mac, false)
	if err != nil {
		return fmt.Errorf("verify agent token of %s: %w", mac, err)
	}
	if binary.BigEndian.Uint64(raw[:8]) != gen {
		return ErrBadAgentToken
	}
	return nil
}

func (db *DB) agentTokenSum(mac string, head []byte) []byte {
	m := hmac.New(sha256.New, db.DeriveKey("agent-token"))
	m.Write([]byte("rackboot agent token\x00"))
	m.Write([]byte(mac))
	m.Write(head)
	return m.Sum(nil)
}

// agentTokenGen returns the host's token generation, first bumping it when
// bump is set. Reads do not create the bucket, so verifying costs no write.
func (db *DB) agentTokenGen(mac string, bump bool) (uint64, error) {
	var gen uint64
	read := func(b *bolt.Bucket) {
		if v := b.Get([]byte(mac)); len(v) == 8 {
			gen = binary.BigEndian.Uint64(v)
		}
	}
	if !bump {
		return gen, db.bolt.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bucketAgentTokens); b != nil {
				read(b)
			}
			return nil
		})
	}
	return gen, db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAgentTokens)
		if err != nil {
			return err
		}
		read(b)
		gen++
		return b.Put([]byte(mac), binary.BigEndian.AppendUint64(nil, gen))
	})
}
