package main

import (
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"
)

// termSafe is a writer that escapes what a terminal would obey rather than
// show: control characters other than newline and tab (ESC starts cursor
// moves, screen clears and OSC 52 clipboard writes), Unicode format
// characters such as bidirectional overrides, and bytes that are not
// UTF-8. Every client command writes through it, so text that came from a
// machine (facts, hostnames, event causes, agent messages) prints as
// text. JSON output is already escaped and passes unchanged.
type termSafe struct {
	w     io.Writer
	carry []byte // an incomplete UTF-8 sequence at the end of the last write
}

func (t *termSafe) Write(p []byte) (int, error) {
	buf := append(t.carry, p...)
	t.carry = nil
	var out []byte
	for len(buf) > 0 {
		r, size := utf8.DecodeRune(buf)
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(buf) && len(buf) < utf8.UTFMax {
				t.carry = append([]byte(nil), buf...) // finish it with the next write
				break
			}
			out = fmt.Appendf(out, `\x%02x`, buf[0])
			buf = buf[1:]
			continue
		}
		switch {
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case unicode.IsControl(r):
			out = fmt.Appendf(out, `\x%02x`, r)
		case unicode.Is(unicode.Cf, r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, buf[:size]...)
		}
		buf = buf[size:]
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
