package lab

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

const goodSpec = `name: two
images:
  - name: testos
    file: test-image.raw
vms:
  - name: web1
    firmware: bios
    memory: 768M
    deploy:
      image: testos
  - name: web2
    firmware: uefi
expect:
  - vm: web1
    state: active
    within: 8m
  - vm: web1
    console: "booted from disk bios"
  - vm: web2
    ssh: hostname
    key: id
    output: ^web2$
`

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.VMs) != 2 || s.VMs[0].memoryMB != 768 || s.VMs[0].Deploy.within != 10*time.Minute {
		t.Errorf("vms: %+v", s.VMs)
	}
	if e := s.Expect[0]; e.within != 8*time.Minute || e.line != 14 {
		t.Errorf("expect[0]: within %v, line %d", e.within, e.line)
	}
	if !s.Expect[2].pattern.MatchString("web2\n") || s.Expect[2].pattern.MatchString("web1") {
		t.Errorf("expect[2]'s pattern %v", s.Expect[2].pattern)
	}
}

// Each bad spec must be refused with an error naming the line and the
// field.
func TestParseSpecErrors(t *testing.T) {
	for _, c := range []struct{ name, spec, want string }{
		{"unknown field", "vms:\n  - name: a\n    firmwre: bios\n", "line 3: field firmwre not found"},
		{"bad firmware", "vms:\n  - name: a\n  - name: b\n    firmware: arm\n", `line 3: vms[1].firmware: "arm": want one of bios, uefi, uefi-sb`},
		{"unknown vm", "vms:\n  - name: a\nexpect:\n  - vm: b\n    state: ready\n", `line 4: expect[0].vm: "b" is not one of vms`},
		{"two kinds", "vms:\n  - name: a\nexpect:\n  - vm: a\n    state: ready\n    console: x\n", "line 4: expect[0].state|console|ssh|file|agent: want exactly one, have 2"},
		{"bad state", "vms:\n  - name: a\nexpect:\n  - vm: a\n    state: done\n", `line 4: expect[0].state: "done" is not a host state`},
		{"bad duration", "vms:\n  - name: a\nexpect:\n  - vm: a\n    state: ready\n    within: soon\n", `line 4: expect[0].within: "soon"`},
		{"ssh without key", "vms:\n  - name: a\nexpect:\n  - vm: a\n    ssh: hostname\n", "line 4: expect[0].key: required"},
		{"bad regexp", "vms:\n  - name: a\nexpect:\n  - vm: a\n    console: \"(\"\n", "line 4: expect[0].console|output: error parsing regexp"},
		{"undeclared image", "vms:\n  - name: a\n    deploy:\n      image: x\n", `line 2: vms[0].deploy.image: "x" is not one of images`},
		{"no vms", "images: []\n", "vms: at least one VM is required"},
		{"bad name", "vms:\n  - name: Web_1\n", `line 2: vms[0].name: "Web_1": want a hostname`},
		{"not yaml", "vms: [\n", "line 1"},
	} {
		_, err := ParseSpec([]byte(c.spec))
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrSpec with %q", c.name, err, c.want)
		}
	}
}

func TestLoadSpecMissingFile(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/t.yaml"
	if err := writeFile(p, goodSpec); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSpec(p)
	if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), "line 3: images[0].file") {
		t.Errorf("got %v, want the missing image file named with its line", err)
	}
}

func TestJUnit(t *testing.T) {
	r := &Report{Suite: "s", Started: time.Now(), Cases: []Case{
		{Class: "setup", Name: "import image a", Elapsed: time.Second},
		{Class: "vm1", Name: "state active within 1m", Failure: "not within 1m0s: the host is ready", Detail: "console \x1b[0mline\n"},
	}}
	var b bytes.Buffer
	if err := r.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Suite struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s := v.Suite
	if s.Tests != 2 || s.Failures != 1 || s.Cases[0].Failure != nil || s.Cases[1].Failure == nil {
		t.Fatalf("report: %+v", s)
	}
	if f := s.Cases[1].Failure; f.Message != "not within 1m0s: the host is ready" || !strings.Contains(f.Body, "console [0mline") {
		t.Errorf("failure: %+v", f)
	}
}
