package initramfs

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// depSource says which modules a module needs loaded before it.
type depSource interface {
	deps(name string) ([]string, error)
}

// depFile is a parsed modules.dep, where depmod has already listed each
// module's dependencies ("kernel/a.ko: kernel/b.ko kernel/c.ko").
type depFile map[string][]string

func readDepFile(path string) (depFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := depFile{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var deps []string
		for _, p := range strings.Fields(rest) {
			deps = append(deps, modName(p))
		}
		d[modName(mod)] = deps
	}
	return d, sc.Err()
}

func (d depFile) deps(name string) ([]string, error) { return d[name], nil }

// modinfoDeps reads dependencies from each module's .modinfo section, the
// same information depmod starts from: "depends=" and the "softdep=pre:"
// modules that should be loaded first when they exist.
type modinfoDeps struct{ ix *index }

func (m modinfoDeps) deps(name string) ([]string, error) {
	rel, ok := m.ix.paths[name]
	if !ok {
		return nil, nil
	}
	data, err := readModule(filepath.Join(m.ix.dir, rel))
	if err != nil {
		return nil, err
	}
	info, err := modinfo(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	var deps []string
	for _, kv := range info {
		key, val, _ := strings.Cut(kv, "=")
		switch key {
		case "depends":
			for _, d := range strings.Split(val, ",") {
				if d != "" {
					deps = append(deps, modName(d))
				}
			}
		case "softdep":
			deps = append(deps, softdepPre(val, m.ix)...)
		}
	}
	return deps, nil
}

// softdepPre returns the "pre:" modules of a softdep value that exist as
// files; a soft dependency that is absent or built in is no error.
func softdepPre(val string, ix *index) []string {
	var out []string
	pre := false
	for _, w := range strings.Fields(val) {
		switch w {
		case "pre:":
			pre = true
		case "post:":
			pre = false
		default:
			if _, ok := ix.paths[modName(w)]; pre && ok {
				out = append(out, modName(w))
			}
		}
	}
	return out
}

// modinfo returns the NUL-separated key=value strings of a module's
// .modinfo ELF section.
func modinfo(ko []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(ko))
	if err != nil {
		return nil, fmt.Errorf("modinfo: %w", err)
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("modinfo: no .modinfo section")
	}
	b, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("modinfo: %w", err)
	}
	var out []string
	for _, s := range bytes.Split(b, []byte{0}) {
		if len(s) > 0 {
			out = append(out, string(s))
		}
	}
	return out, nil
}
