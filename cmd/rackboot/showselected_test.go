package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShowSelected: `config show` and `user-data show` print the stored
// document under a header naming its kind, selector and hosts, and refuse
// an unknown name.
func TestShowSelected(t *testing.T) {
	dir := t.TempDir()
	url, stop := startServe(t, dir)
	t.Cleanup(func() { stop() })
	common := []string{"--server", url, "--data-dir", dir}
	for _, c := range []struct{ kind, name, body string }{
		{"config", "motd", "- kind: file\n  name: /etc/motd\n  content: hi\n"},
		{"user-data", "web", "#cloud-config\npackages: [nginx]\n"},
	} {
		f := filepath.Join(t.TempDir(), c.name+".yaml")
		os.WriteFile(f, []byte(c.body), 0o644)
		if out, code := cli(t, append([]string{c.kind, "apply", f, "--name", c.name, "--selector", "role=web"}, common...)...); code != 0 {
			t.Fatalf("%s apply: %d %s", c.kind, code, out)
		}
		out, code := cli(t, append([]string{c.kind, "show", c.name}, common...)...)
		if head := "# " + c.kind + " " + c.name + " v"; code != 0 || !strings.HasPrefix(out, head) || !strings.Contains(out, "selector role=web (0 hosts)") || !strings.HasSuffix(out, c.body) {
			t.Errorf("%s show: %d %q", c.kind, code, out)
		}
		if out, code := cli(t, append([]string{c.kind, "show", "nosuch"}, common...)...); code == 0 || !strings.Contains(out, "nosuch") {
			t.Errorf("%s show nosuch: %d %q", c.kind, code, out)
		}
	}
}
