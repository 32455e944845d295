package lab

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rackboot/rackboot/inventory"
	"gopkg.in/yaml.v3"
)

// Spec is a declarative lab test (`rackboot lab test FILE`): what to put
// in the appliance, which VMs to create and deploy, and what to expect of
// them. Paths are relative to the spec's file.
type Spec struct {
	Name     string       `yaml:"name"`      // the JUnit suite; default the file's base name
	Images   []SpecImage  `yaml:"images"`    // imported before any VM starts
	Configs  []SpecConfig `yaml:"configs"`   // agent configs, applied
	UserData []SpecConfig `yaml:"user-data"` // user-data parts, applied
	VMs      []SpecVM     `yaml:"vms"`
	Expect   []Expect     `yaml:"expect"` // checked in order per VM, VMs in parallel

	dir   string
	lines map[string][]int // the line of each item, by section
}

// SpecImage is an image to import.
type SpecImage struct {
	Name string `yaml:"name"`
	File string `yaml:"file"`
}

// SpecConfig is an agent config or a user-data part and the hosts it
// selects (label=value).
type SpecConfig struct {
	Name     string `yaml:"name"`
	File     string `yaml:"file"`
	Selector string `yaml:"selector"`
}

// SpecVM is one VM of the test.
type SpecVM struct {
	Name     string            `yaml:"name"` // its hostname too
	Firmware string            `yaml:"firmware"`
	Memory   string            `yaml:"memory"`
	Disk     string            `yaml:"disk"`
	Labels   map[string]string `yaml:"labels"`
	Deploy   *SpecDeploy       `yaml:"deploy"` // once the VM is ready

	memoryMB  int
	diskBytes int64
}

// SpecDeploy is what a VM is deployed with.
type SpecDeploy struct {
	Image    string `yaml:"image"`
	UserData string `yaml:"user-data"`
	SSHKey   string `yaml:"ssh-key"` // a public key file
	Within   string `yaml:"within"`  // for the VM to be ready first; default 10m

	within time.Duration
}

// Expect is one expectation, one JUnit test case: exactly one of State,
// Console, SSH, File or Agent.
type Expect struct {
	VM     string `yaml:"vm"`
	Within string `yaml:"within"` // default 10m

	State   string `yaml:"state"`   // the inventory state
	Console string `yaml:"console"` // a regular expression matched against the serial console
	SSH     string `yaml:"ssh"`     // a command run over SSH from the lab …
	File    string `yaml:"file"`    // … or a file read over SSH on the deployed host
	Output  string `yaml:"output"`  // a regular expression the command's output or the file must match; default: exit 0 / exists
	Key     string `yaml:"key"`     // the private key for SSH
	User    string `yaml:"user"`    // default debian
	Agent   string `yaml:"agent"`   // converged

	line    int
	within  time.Duration
	pattern *regexp.Regexp
}

// ErrSpec marks a spec that does not validate; the message names the
// line and field.
var ErrSpec = errors.New("lab test spec")

// LoadSpec reads and validates a spec file.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseSpec(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.dir = filepath.Dir(path)
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	for _, f := range s.files() {
		if _, err := os.Stat(s.path(f.file)); err != nil {
			return nil, fmt.Errorf("%s: %w: line %d: %s: %v", path, ErrSpec, f.line, f.field, err)
		}
	}
	return s, nil
}

// ParseSpec decodes and validates a spec; unknown fields are errors.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSpec, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var root yaml.Node
	yaml.Unmarshal(b, &root)
	s.lines = itemLines(&root)
	if err := s.check(s.lines); err != nil {
		return nil, err
	}
	return &s, nil
}

// itemLines gives the line of every item of the top-level sequences,
// by section: the checks name them.
func itemLines(root *yaml.Node) map[string][]int {
	out := map[string][]int{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return out
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		for _, item := range m.Content[i+1].Content {
			out[m.Content[i].Value] = append(out[m.Content[i].Value], item.Line)
		}
	}
	return out
}

func (s *Spec) check(lines map[string][]int) error {
	var errs []string
	bad := func(section string, i int, field, format string, args ...any) {
		line := 0
		if i < len(lines[section]) {
			line = lines[section][i]
		}
		errs = append(errs, fmt.Sprintf("line %d: %s[%d].%s: %s", line, section, i, field, fmt.Sprintf(format, args...)))
	}
	images := map[string]bool{}
	for i, im := range s.Images {
		if im.Name == "" {
			bad("images", i, "name", "required")
		}
		if im.File == "" {
			bad("images", i, "file", "required")
		}
		images[im.Name] = true
	}
	for sec, list := range map[string][]SpecConfig{"configs": s.Configs, "user-data": s.UserData} {
		for i, c := range list {
			if c.Name == "" {
				bad(sec, i, "name", "required")
			}
			if c.File == "" {
				bad(sec, i, "file", "required")
			}
			if c.Selector != "" && !strings.Contains(c.Selector, "=") {
				bad(sec, i, "selector", "%q: want label=value", c.Selector)
			}
		}
	}
	vms := map[string]bool{}
	if len(s.VMs) == 0 {
		errs = append(errs, "vms: at least one VM is required")
	}
	if len(s.VMs) > 99 {
		errs = append(errs, "vms: at most 99")
	}
	for i := range s.VMs {
		v := &s.VMs[i]
		if !hostnameRE.MatchString(v.Name) {
			bad("vms", i, "name", "%q: want a hostname (lowercase letters, digits, -)", v.Name)
		}
		if vms[v.Name] {
			bad("vms", i, "name", "%q appears twice", v.Name)
		}
		vms[v.Name] = true
		if v.Firmware != "" && !slices.Contains(Firmwares, v.Firmware) {
			bad("vms", i, "firmware", "%q: want one of %s", v.Firmware, strings.Join(Firmwares, ", "))
		}
		var err error
		if v.Memory != "" {
			var n int64
			if n, err = ParseSize(v.Memory); err != nil || n < 256<<20 {
				bad("vms", i, "memory", "%q: want a size of at least 256M", v.Memory)
			}
			v.memoryMB = int(n >> 20)
		}
		if v.Disk != "" {
			if v.diskBytes, err = ParseSize(v.Disk); err != nil {
				bad("vms", i, "disk", "%v", err)
			}
		}
		if d := v.Deploy; d != nil {
			if !images[d.Image] {
				bad("vms", i, "deploy.image", "%q is not one of images", d.Image)
			}
			if d.within, err = duration(d.Within, 10*time.Minute); err != nil {
				bad("vms", i, "deploy.within", "%v", err)
			}
		}
	}
	for i := range s.Expect {
		e := &s.Expect[i]
		if i < len(lines["expect"]) {
			e.line = lines["expect"][i]
		}
		if !vms[e.VM] {
			bad("expect", i, "vm", "%q is not one of vms", e.VM)
		}
		var err error
		if e.within, err = duration(e.Within, 10*time.Minute); err != nil {
			bad("expect", i, "within", "%v", err)
		}
		kinds := 0
		for _, set := range []bool{e.State != "", e.Console != "", e.SSH != "", e.File != "", e.Agent != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			bad("expect", i, "state|console|ssh|file|agent", "want exactly one, have %d", kinds)
			continue
		}
		switch {
		case e.State != "" && !validState(e.State):
			bad("expect", i, "state", "%q is not a host state", e.State)
		case e.Agent != "" && e.Agent != "converged":
			bad("expect", i, "agent", "%q: the one expectation is converged", e.Agent)
		case (e.SSH != "" || e.File != "") && e.Key == "":
			bad("expect", i, "key", "required for ssh and file: the private key whose public half the VM was deployed with")
		}
		pat := e.Console
		if pat == "" {
			pat = e.Output
		}
		if e.pattern, err = regexp.Compile("(?m)" + pat); err != nil { // ^ and $ match at each line
			bad("expect", i, "console|output", "%v", err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n  %s", ErrSpec, strings.Join(errs, "\n  "))
	}
	return nil
}

var hostnameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validState(s string) bool {
	_, err := inventory.ParseState(s)
	return err == nil
}

func duration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a duration such as 90s or 10m", s)
	}
	return d, nil
}

type specFile struct {
	line  int
	field string
	file  string
}

// files are the files the spec names, for LoadSpec to check they exist.
func (s *Spec) files() []specFile {
	var out []specFile
	for i, im := range s.Images {
		out = append(out, specFile{s.line("images", i), fmt.Sprintf("images[%d].file", i), im.File})
	}
	for i, c := range s.Configs {
		out = append(out, specFile{s.line("configs", i), fmt.Sprintf("configs[%d].file", i), c.File})
	}
	for i, c := range s.UserData {
		out = append(out, specFile{s.line("user-data", i), fmt.Sprintf("user-data[%d].file", i), c.File})
	}
	for i, v := range s.VMs {
		if d := v.Deploy; d != nil {
			for _, f := range []struct{ name, p string }{{"user-data", d.UserData}, {"ssh-key", d.SSHKey}} {
				if f.p != "" {
					out = append(out, specFile{s.line("vms", i), fmt.Sprintf("vms[%d].deploy.%s", i, f.name), f.p})
				}
			}
		}
	}
	for i, e := range s.Expect {
		if e.Key != "" {
			out = append(out, specFile{e.line, fmt.Sprintf("expect[%d].key", i), e.Key})
		}
	}
	return out
}

func (s *Spec) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

func (s *Spec) line(section string, i int) int {
	if i < len(s.lines[section]) {
		return s.lines[section][i]
	}
	return 0
}
