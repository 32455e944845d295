package fleetconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"text/template"
	"text/template/parse"

	"github.com/rackboot/rackboot/agent/config"
)

// SyntaxError is a config template that does not parse, with where.
type SyntaxError struct {
	Line, Column int
	Err          error
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d:%d: %v", e.Line, e.Column, e.Err) }

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// stubFuncs are the template functions as the parser needs to know them;
// each render binds its own (bound), which record what they read.
var stubFuncs = template.FuncMap{
	"hosts": func(string) ([]Member, error) { return nil, errors.New("hosts: not rendering") },
	"value": func(string, string) (string, error) { return "", errors.New("value: not rendering") },
	"quote": quote,
}

// Parse parses a config body as a template named name. A syntax error
// is a *SyntaxError with its line and column.
func Parse(name, body string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(stubFuncs).Parse(body)
	if err != nil {
		return nil, syntaxError(body, err)
	}
	return t, nil
}

// Check is what a config must pass to be stored: its template parses and,
// when it has no template actions (so it renders to itself), its YAML is
// a valid graph for the agent. A config with actions is checked again as
// YAML each time it is rendered for a host.
func Check(name, body string) error {
	t, err := Parse(name, body)
	if err != nil {
		return err
	}
	if hasActions(t) {
		return nil
	}
	var text bytes.Buffer // the body, comments dropped
	if err := t.Execute(&text, nil); err != nil {
		return err
	}
	_, err = config.Parse(text.Bytes())
	return err
}

// hasActions reports whether t is anything but plain text.
func hasActions(t *template.Template) bool {
	if len(t.Templates()) > 1 {
		return true
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return false
	}
	for _, n := range t.Tree.Root.Nodes {
		if n.Type() != parse.NodeText {
			return true
		}
	}
	return false
}

// quote renders s as a YAML (and JSON) double-quoted scalar, so a value
// is read as one string whatever it holds.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// parseErrRE takes text/template's "template: NAME:LINE: message" apart.
var (
	parseErrRE   = regexp.MustCompile(`^template: .*?:(\d+): (.*)$`)
	startedErrRE = regexp.MustCompile(`^(.*) started at .*:(\d+)$`)
)

// syntaxError turns a parse error into a *SyntaxError: text/template
// names only the line, so the column is found by locate.
func syntaxError(body string, err error) error {
	m := parseErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &SyntaxError{Line: 1, Column: 1, Err: err}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	if s := startedErrRE.FindStringSubmatch(msg); s != nil { // "unclosed action started at NAME:LINE"
		msg = s[1]
		line, _ = strconv.Atoi(s[2])
	}
	pos, msg := locate(body, line, msg)
	return &SyntaxError{Line: pos.line, Column: pos.col, Err: errors.New(msg)}
}
