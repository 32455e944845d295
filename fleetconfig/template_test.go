package fleetconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/rackboot/rackboot/agent/config"
)

func TestCheckPositions(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		line, col  int
		msg        string
	}{
		{"unknown function", "- kind: file\n  name: /a\n  content: {{ valu \"x\" \"k\" }}\n", 3, 12, `function "valu" not defined`},
		{"second action of a line", "- kind: file\n  name: /{{.Host.Hostname}}/{{hosts}\n", 2, 29, "bad character"},
		{"range left open", "- kind: file\n  name: /a\n  content: |\n    {{- range hosts \"rack=r1\"}}\n    {{.IP}}\n", 4, 5, "{{range}} is never closed"},
		{"end without a block", "- kind: file\n  name: /a\n  content: x{{end}}\n", 3, 13, "unexpected {{end}}"},
		{"unclosed action", "- kind: file\n  name: /a\n  content: {{.Host.IP\n", 3, 12, "unclosed action"},
		{"bad pipeline in an if", "{{if}}x{{end}}\n", 1, 1, "missing value for if"},
		{"bad else if", "{{if .Host}}\n{{else if}}\n{{end}}", 2, 1, "missing value for if"},
		{"brace in a string", "- kind: file\n  name: /a\n  content: {{\"}}\"}} {{ nope }}\n", 3, 21, `function "nope" not defined`},
		{"plain YAML", "- kind: file\n  name: /a\n  bogus: 1\n", 3, 3, "unknown parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("c", tc.body)
			var se *SyntaxError
			var ce *config.Error
			line, col := 0, 0
			switch {
			case errors.As(err, &se):
				line, col = se.Line, se.Column
			case errors.As(err, &ce):
				line, col = ce.Line, ce.Column
			default:
				t.Fatalf("Check = %v, want a positioned error", err)
			}
			if line != tc.line || col != tc.col || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Check = %q at %d:%d, want %q at %d:%d", err, line, col, tc.msg, tc.line, tc.col)
			}
		})
	}
}

func TestCheckAccepts(t *testing.T) {
	for name, body := range map[string]string{
		"plain YAML": "- kind: file\n  name: /etc/motd\n  content: hi\n",
		"hosts file": "- kind: file\n  name: /etc/hosts\n  content: |\n    {{- range hosts \"rack=r1\"}}\n    {{.IP}} {{.Hostname}}\n    {{- end}}\n",
		"variables":  "{{$h := .Host}}{{range $i, $p := hosts \"\"}}{{if ne $p.MAC $h.MAC}}{{with value $p.MAC \"k\" | quote}}{{.}}{{end}}{{end}}{{end}}",
		"comment":    "{{/* a }} in a comment */}}- kind: file\n  name: /x\n",
	} {
		if err := Check("c", body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"a": `"a"`, `x"y`: `"x\"y"`, "<&>": `"<&>"`, "a: b # c": `"a: b # c"`} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzCheck: any body is accepted or refused with a position inside it,
// never a panic.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"{{", "}}", "{{if}}", "{{range hosts \"a\"}}{{end}}", "{{/*", "{{\"}}", "a\n{{end}}\n", "{{else}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := Check("c", body)
		var se *SyntaxError
		if errors.As(err, &se) {
			lines := strings.Count(body, "\n") + 1
			if se.Line < 1 || se.Line > lines || se.Column < 1 {
				t.Fatalf("%q: position %d:%d outside the body (%d lines): %v", body, se.Line, se.Column, lines, err)
			}
		}
	})
}
