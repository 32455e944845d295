package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that no input panics, that every failure is reported
// either as a positioned *Error or as a YAML syntax error, and that every
// graph that comes back is valid. Seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("- kind: file\n  name: /etc/motd\n  content: hi\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			var e *Error
			if errors.As(err, &e) && (e.Line < 0 || e.Column < 0) {
				t.Fatalf("negative position in %v", err)
			}
			if g != nil {
				t.Fatal("graph returned with an error")
			}
			return
		}
		if verr := g.Validate(); verr != nil {
			t.Fatalf("Parse accepted a graph that does not validate: %v", verr)
		}
	})
}
