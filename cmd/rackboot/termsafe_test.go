package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\tand tabs\n":           "plain text\tand tabs\n",
		"héllo, 世界":                        "héllo, 世界",
		"\x1b]52;c;aGVsbG8=\x07 clipboard": `\x1b]52;c;aGVsbG8=\x07 clipboard`,
		"\x1b[2J\x1b[H cleared":            `\x1b[2J\x1b[H cleared`,
		"carriage\rreturn\x00nul\x7fdel":   `carriage\x0dreturn\x00nul\x7fdel`,
		"c1 \u009b31m csi":                 `c1 \x9b31m csi`,
		"bidi \u202eevil\u202c":            `bidi \u202eevil\u202c`,
		"bad \xff\xfe utf8":                `bad \xff\xfe utf8`,
	} {
		var b bytes.Buffer
		if _, err := (&termSafe{w: &b}).Write([]byte(in)); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%q → %q, want %q", in, b.String(), want)
		}
	}
	// A rune split across two writes is kept whole.
	var b bytes.Buffer
	w := &termSafe{w: &b}
	s := "split 世 rune"
	i := strings.Index(s, "世") + 1
	w.Write([]byte(s[:i]))
	w.Write([]byte(s[i:]))
	if b.String() != s {
		t.Errorf("split write → %q", b.String())
	}
}
