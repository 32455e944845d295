package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rackboot/rackboot/agent/engine"
	"github.com/rackboot/rackboot/agent/resources"
)

func TestParseExample(t *testing.T) {
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if g.Len() != 9 {
		t.Fatalf("resources = %d, want 9", g.Len())
	}
	f := g.Vertex(engine.Key{Kind: "file", Name: "/etc/nginx/conf.d/rackboot.conf"}).Res.(*resources.File)
	if *f.Content != "server { listen 8080; }\n" || f.Mode != "0644" || f.Owner != "root" {
		t.Fatalf("file = %+v", f)
	}
	if m := g.Vertex(engine.Key{Kind: "pkg", Name: "nginx"}).Meta; m.Retry != 3 || m.Delay != 5*time.Second {
		t.Fatalf("pkg meta = %+v", m)
	}
	if m := g.Vertex(engine.Key{Kind: "hostname", Name: "web-01"}).Meta; !m.Noop || m.Limit != 0.5 || m.Burst != 2 {
		t.Fatalf("hostname meta = %+v", m)
	}
	want := map[engine.Edge]bool{
		{From: engine.Key{Kind: "pkg", Name: "nginx"}, To: engine.Key{Kind: "file", Name: "/etc/nginx/conf.d/rackboot.conf"}}:               true,
		{From: engine.Key{Kind: "file", Name: "/etc/nginx/conf.d/rackboot.conf"}, To: engine.Key{Kind: "svc", Name: "nginx"}, Notify: true}: true,
		{From: engine.Key{Kind: "group", Name: "ops"}, To: engine.Key{Kind: "user", Name: "alice"}}:                                         true,
	}
	for _, e := range g.Edges() {
		delete(want, e)
	}
	if len(want) != 0 {
		t.Fatalf("missing edges %v in %v", want, g.Edges())
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"not a list", "kind: file", "line 1:1: the config must be a list"},
		{"item not a mapping", "- file", "line 1:3: a resource must be a mapping"},
		{"missing kind", "- name: x", "line 1:3: kind: missing"},
		{"missing name", "- kind: file", "line 1:3: file:: name: missing"},
		{"unknown kind", "- kind: filee\n  name: /x", `line 1:9: kind: unknown kind "filee"`},
		{"unknown parameter", "- kind: file\n  name: /x\n  conten: hi", `line 3:3: file:/x: conten: unknown parameter (known: content, group, mode, owner, path, source, state)`},
		{"wrong type", "- kind: user\n  name: al\n  uid: abc", "line 3:8: user:al: uid: cannot unmarshal !!str `abc` into int"},
		{"wrong type list", "- kind: user\n  name: al\n  groups: wheel", "line 3:11: user:al: groups: cannot unmarshal !!str `wheel` into []string"},
		{"validate names field", "- kind: file\n  name: /x\n  mode: '999'", `line 3:9: file:/x: mode: "999" is not an octal mode`},
		{"validate without key", "- kind: file\n  name: rel", `line 1:3: file:rel: path: "rel" must be an absolute path`},
		{"bad meta key", "- kind: file\n  name: /x\n  meta: {retri: 1}", "line 3:10: file:/x: meta.retri: unknown parameter"},
		{"bad meta type", "- kind: file\n  name: /x\n  meta: {delay: soon}", "line 3:17: file:/x: meta.delay:"},
		{"bad meta value", "- kind: file\n  name: /x\n  meta: {retry: -5}", "line 1:3: file:/x: meta retry: must be -1"},
		{"duplicate key", "- kind: file\n  name: /x\n  kind: exec", "line 3:3: kind: duplicate key"},
		{"duplicate resource", "- kind: file\n  name: /x\n- kind: file\n  name: /x", "line 3:3: file:/x: duplicate resource (first defined at line 1)"},
		{"dangling", "- kind: file\n  name: /x\n  require: [pkg:nope]", `line 3:13: file:/x: require: "pkg:nope" names no resource`},
		{"bad ref", "- kind: file\n  name: /x\n  notify: [nope]", `line 3:12: file:/x: notify: "nope" is not a kind:name reference`},
		{"self ref", "- kind: file\n  name: /x\n  require: file:/x", "line 3:12: file:/x: require: a resource cannot refer to itself"},
		{"cycle", "- kind: file\n  name: /a\n  require: [file:/b]\n- kind: file\n  name: /b\n  notify: [file:/a]\n  require: [file:/a]",
			"dependency cycle: file:/a -> file:/b -> file:/a"},
		{"yaml syntax", "- kind: [", "parse config: yaml:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Parse([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v\nwant containing %q", err, tc.want)
			}
			if g != nil {
				t.Fatal("a graph came back with an error")
			}
		})
	}
}

func TestParseCycleIsPositioned(t *testing.T) {
	_, err := Parse([]byte("- kind: file\n  name: /a\n  require: [file:/b]\n- kind: file\n  name: /b\n  require: [file:/a]"))
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, engine.ErrCycle) || e.Line == 0 {
		t.Fatalf("cycle error = %#v, want a positioned *Error wrapping ErrCycle", err)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "[]"} {
		g, err := Parse([]byte(in))
		if err != nil || g.Len() != 0 {
			t.Fatalf("Parse(%q) = %v, %v", in, g, err)
		}
	}
}
