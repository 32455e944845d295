package fleetconfig

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// position is a 1-based line and column (in bytes).
type position struct{ line, col int }

// action is one {{…}} of a template's source.
type action struct {
	start, end int // byte offsets of "{{" and past "}}" (or the end)
	pos        position
	lastLine   int    // line of its last byte
	raw        string // between the delimiters, as written
	inner      string // the same, trim markers and spaces removed
}

// keyword is the action's first word when it is a control word.
func (a *action) keyword() string {
	f := strings.Fields(a.inner)
	if len(f) == 0 || strings.HasPrefix(a.inner, "/*") {
		return ""
	}
	switch f[0] {
	case "if", "range", "with", "else", "end", "define", "block", "break", "continue", "template":
		return f[0]
	}
	return ""
}

// actions lists the actions of src in order. Strings, raw strings and
// comments are skipped over, so a "}}" in them does not end an action;
// an action left open runs to the end of src.
func actions(src string) []action {
	var out []action
	for i := 0; ; {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			return out
		}
		a := action{start: i + j, pos: offsetPos(src, i+j)}
		a.end = actionEnd(src, a.start+2)
		a.raw = src[a.start+2 : a.end]
		if strings.HasSuffix(a.raw, "}}") {
			a.raw = a.raw[:len(a.raw)-2]
		}
		a.inner = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(a.raw, " -"), "- "))
		a.lastLine = offsetPos(src, max(a.end-1, a.start)).line
		out = append(out, a)
		i = a.end
	}
}

// actionEnd returns the offset just past the "}}" closing the action whose
// body starts at i, or len(src).
func actionEnd(src string, i int) int {
	if rest := strings.TrimPrefix(src[i:], "- "); strings.HasPrefix(rest, "/*") {
		k := strings.Index(rest[2:], "*/")
		if k < 0 {
			return len(src)
		}
		i = len(src) - len(rest) + 2 + k + 2
	}
	for i < len(src) {
		switch c := src[i]; {
		case strings.HasPrefix(src[i:], "}}"):
			return i + 2
		case c == '"' || c == '\'':
			i = quotedEnd(src, i, c)
		case c == '`':
			k := strings.IndexByte(src[i+1:], '`')
			if k < 0 {
				return len(src)
			}
			i += k + 2
		default:
			i++
		}
	}
	return len(src)
}

// quotedEnd returns the offset past the string or character constant
// opened by q at i (backslash escapes honoured; a line break ends it).
func quotedEnd(src string, i int, q byte) int {
	for i++; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case q, '\n':
			return i + 1
		}
	}
	return len(src)
}

func offsetPos(src string, off int) position {
	before := src[:off]
	nl := strings.LastIndexByte(before, '\n')
	return position{line: strings.Count(before, "\n") + 1, col: off - nl}
}

// locate finds where on line (or, for a block left open, where that block
// starts) a parse error of src is, and returns the message to show. The
// first action on the line that fails to parse on its own is the one at
// fault; when none does, the mistake is in how actions nest.
func locate(src string, line int, msg string) (position, string) {
	all := actions(src)
	if strings.HasPrefix(msg, "unexpected EOF") {
		if open := unclosed(all); open != nil {
			return open.pos, fmt.Sprintf("{{%s}} is never closed with {{end}}", open.keyword())
		}
	}
	var first, control *action
	for i := range all {
		a := &all[i]
		if a.pos.line > line || a.lastLine < line {
			continue
		}
		if first == nil {
			first = a
		}
		if control == nil && a.keyword() != "" {
			control = a
		}
		if !parsesAlone(a) {
			return a.pos, msg
		}
	}
	switch {
	case control != nil:
		return control.pos, msg
	case first != nil:
		return first.pos, msg
	}
	return position{line: line, col: 1}, msg
}

// unclosed is the innermost block still open at the end of all.
func unclosed(all []action) *action {
	var stack []*action
	for i := range all {
		switch all[i].keyword() {
		case "if", "range", "with", "define", "block":
			stack = append(stack, &all[i])
		case "end":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return nil
	}
	return stack[len(stack)-1]
}

var variableRE = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*`)

// parsesAlone parses one action by itself, closing the block it opens and
// declaring the variables it uses, so only its own mistakes show. Actions
// that only make sense among others (else, end, break, continue) pass.
func parsesAlone(a *action) bool {
	text := "{{" + a.raw + "}}"
	switch a.keyword() {
	case "else":
		if strings.TrimSpace(strings.TrimPrefix(a.inner, "else")) == "" {
			return true
		}
		text = "{{" + strings.Replace(a.raw, "else", "", 1) + "}}{{end}}"
	case "if", "range", "with", "define", "block":
		text += "{{end}}"
	case "end", "break", "continue":
		return true
	}
	var decl strings.Builder
	for _, v := range variableRE.FindAllString(a.raw, -1) {
		decl.WriteString("{{" + v + " := 0}}")
	}
	_, err := template.New("x").Funcs(stubFuncs).Parse(decl.String() + text)
	return err == nil
}
