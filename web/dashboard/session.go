package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// A session cookie is payload "." mac, both unpadded base64url: payload is
// the expiry (8 bytes, Unix seconds), a random 16-byte id and the name the
// operator gave at sign-in (up to maxNameLen bytes, may be empty); mac is
// HMAC-SHA256 of the payload under a key derived from the operator token.
//
// Why not the token itself in the cookie: the token is the long-lived
// credential of the REST API and the CLI. A session value leaked from a
// browser profile expires, is no Bearer token, and dies with a logout or a
// new operator token. Why signed rather than stored: sessions survive a
// restart of the appliance and cost no bbolt writes.

// errSession is every reason a cookie is not a session; the caller only
// needs to know to show the login page.
var errSession = errors.New("no valid session")

const (
	sessionIDLen = 16
	maxNameLen   = 64
)

type session struct {
	id      []byte
	expires time.Time
	// name is who signed in, as they said; empty when they did not.
	name string
}

// actor is how the session's actions are named in the event log.
func (s session) actor() string {
	if s.name != "" {
		return s.name + " (dashboard)"
	}
	return fmt.Sprintf("dashboard session %x", s.id[:4])
}

// sessions signs and checks session cookies and derives CSRF tokens.
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // logged-out ids until they expire anyway
}

func newSessions(token string, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{key: derive([]byte(token), "rackboot dashboard session v1"), ttl: ttl, now: now,
		revoked: make(map[string]time.Time)}
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (s *sessions) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(payload)
	return m.Sum(nil)
}

// issue starts a session for name (already checked by cleanName) and
// returns it with its cookie value.
func (s *sessions) issue(name string) (session, string) {
	payload := make([]byte, 8+sessionIDLen, 8+sessionIDLen+len(name))
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	rand.Read(payload[8:])
	payload = append(payload, name...)
	enc := base64.RawURLEncoding
	value := enc.EncodeToString(payload) + "." + enc.EncodeToString(s.sign(payload))
	return session{id: payload[8 : 8+sessionIDLen], expires: exp, name: name}, value
}

// check returns the session a cookie value carries if its signature holds
// and it has neither expired nor been logged out.
func (s *sessions) check(value string) (session, error) {
	p, m, ok := strings.Cut(value, ".")
	enc := base64.RawURLEncoding.Strict() // one spelling per session
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if !ok || err1 != nil || err2 != nil || len(payload) < 8+sessionIDLen || len(payload) > 8+sessionIDLen+maxNameLen ||
		!hmac.Equal(mac, s.sign(payload)) {
		return session{}, errSession
	}
	sess := session{id: payload[8 : 8+sessionIDLen], expires: time.Unix(int64(binary.BigEndian.Uint64(payload)), 0),
		name: string(payload[8+sessionIDLen:])}
	if !s.now().Before(sess.expires) || s.isRevoked(sess.id) {
		return session{}, errSession
	}
	return sess, nil
}

// csrf is the CSRF token of a session: derived, so nothing is stored, and
// different for every session, so one page's token is useless elsewhere.
func (s *sessions) csrf(sess session) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("csrf\x00"))
	m.Write(sess.id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *sessions) csrfOK(sess session, got string) bool {
	want := s.csrf(sess)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// revoke ends a session before its expiry (logout). Revoked ids are kept
// in memory only until they would have expired; a restart forgets them,
// which is why sessions are short and a new token ends all of them.
func (s *sessions) revoke(sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, exp := range s.revoked {
		if !now.Before(exp) {
			delete(s.revoked, id)
		}
	}
	s.revoked[string(sess.id)] = sess.expires
}

func (s *sessions) isRevoked(id []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.revoked[string(id)]
	return ok
}
