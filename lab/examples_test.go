package lab

import (
	"path/filepath"
	"testing"
)

// The examples parse: the README points newcomers at them.
func TestExamplesParse(t *testing.T) {
	files, _ := filepath.Glob("../examples/lab/*.yaml")
	n := 0
	for _, f := range files {
		if filepath.Base(f) == "demo-config.yaml" {
			continue
		}
		n++
		s, err := LoadSpec(f)
		if err != nil && !isMissingImage(err) {
			t.Errorf("%s: %v", f, err)
		} else if err == nil && len(s.VMs) == 0 {
			t.Errorf("%s: no VMs", f)
		}
	}
	if n == 0 {
		t.Fatal("no example specs")
	}
}
