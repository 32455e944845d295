package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks that no input panics and that every failure is reported
// either as an *Error with a line and column or as a YAML syntax error.
// Seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("- kind: file\n  name: /etc/motd\n  content: hi\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			var e *Error
			switch {
			case errors.As(err, &e):
				if e.Line <= 0 || e.Column <= 0 {
					t.Fatalf("error without a position: %v", err)
				}
			case !strings.HasPrefix(err.Error(), "parse config: yaml:"):
				t.Fatalf("neither a positioned *Error nor a YAML syntax error: %v", err)
			}
			if g != nil {
				t.Fatal("graph returned with an error")
			}
		}
	})
}
