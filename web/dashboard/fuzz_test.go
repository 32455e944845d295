package dashboard

import (
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzSessionCookie: check never panics, and a value it accepts is
// exactly the encoding issue would give its payload, signed with the
// sessions' key: no other spelling of a session (padding, trailing bytes,
// a changed name) passes.
func FuzzSessionCookie(f *testing.F) {
	s := newSessions(testToken, time.Hour, time.Now)
	// Cookies signed as issue signs them, from fixed payloads, so every
	// fuzzing process knows the same two.
	cookie := func(name string) string {
		p := binary.BigEndian.AppendUint64(nil, uint64(time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
		p = append(p, "0123456789abcdef"...)
		p = append(p, name...)
		enc := base64.RawURLEncoding
		return enc.EncodeToString(p) + "." + enc.EncodeToString(s.sign(p))
	}
	named, anon := cookie("Ada"), cookie("")
	for _, v := range []string{named, anon, "", ".", "a.b", named + "x", strings.Replace(named, "A", "B", 1), anon[:len(anon)/2]} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		sess, err := s.check(v)
		if err != nil {
			return
		}
		p := binary.BigEndian.AppendUint64(nil, uint64(sess.expires.Unix()))
		p = append(append(p, sess.id...), sess.name...)
		enc := base64.RawURLEncoding
		if want := enc.EncodeToString(p) + "." + enc.EncodeToString(s.sign(p)); v != want {
			t.Fatalf("cookie %q accepted as session %x (%q), which is spelt %q", v, sess.id, sess.name, want)
		}
		if len(sess.name) > maxNameLen {
			t.Fatalf("name of %d bytes", len(sess.name))
		}
	})
}

// FuzzListQuery: the list's (and its stream's) query parameters either
// parse into a query within bounds or are refused; they never panic.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{"", "state=ready&q=node&sort=hostname&dir=desc&page=3&size=20", "page=0", "size=100000",
		"sort=ram", "state=sleeping", "label=rack%3Dr1&page=99999999999999999999", "q=%00%ff"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseListQuery(v, 50)
		if err != nil {
			return
		}
		if q.Page < 1 || q.Size < 1 || q.Size > maxPageSize {
			t.Fatalf("%q parsed to page %d size %d", raw, q.Page, q.Size)
		}
		pg := pagerOf(q, q.Page, q.Page+3)
		if len(pg.Links) > 2*pagerWindow+5 {
			t.Fatalf("%q: %d page links", raw, len(pg.Links))
		}
	})
}
