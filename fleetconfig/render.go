package fleetconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/rackboot/rackboot/agent/config"
	"github.com/rackboot/rackboot/inventory"
	"github.com/rackboot/rackboot/machineapi"
)

// compiled is a stored config with its parsed template (or why it does
// not parse).
type compiled struct {
	cfg  inventory.AgentConfig // Body dropped once parsed
	tmpl *template.Template
	err  error
}

func compile(c inventory.AgentConfig) *compiled {
	t, err := Parse(c.Name, c.Body)
	c.Body = ""
	return &compiled{cfg: c, tmpl: t, err: err}
}

// snapshot is what the renders of one round read. Nothing changes it while
// they run, so they run in parallel.
type snapshot struct {
	fleet   map[string]*hostRec
	sorted  []*hostRec // fleet ordered by MAC
	byName  map[string][]string
	values  map[string]map[string]string
	configs []*compiled // ordered by name

	mu   sync.Mutex
	memo map[string]selection // hosts "SELECTOR" answers of this round
}

type selection struct {
	members []Member // shared by every render of the round: read-only
	err     error
}

// outcome is one host's render: a graph, or the failure, and what it read
// either way (a failed render is retried when what it read changes).
type outcome struct {
	mac     string
	graph   *machineapi.Graph
	failure *inventory.RenderFailure
	reads   reads
}

// render renders every config that selects h. prev is h's last good graph
// (nil if none): a config that renders to the body it had there is
// already known to parse.
func (s *snapshot) render(h *hostRec, prev *machineapi.Graph) outcome {
	out := outcome{mac: h.mac}
	g := machineapi.Graph{Configs: []machineapi.GraphConfig{}}
	for _, c := range s.configs {
		if !c.cfg.Selects(h.labels) {
			continue
		}
		body, err := s.execute(c, h, &out.reads)
		if err == nil && !hadBody(prev, c.cfg.Name, body) {
			if _, perr := config.Parse([]byte(body)); perr != nil {
				err = fmt.Errorf("rendered YAML: %w", perr)
			}
		}
		if err != nil {
			out.failure = &inventory.RenderFailure{Config: c.cfg.Name, Error: err.Error()}
			return out
		}
		g.Configs = append(g.Configs, machineapi.GraphConfig{Name: c.cfg.Name, Version: c.cfg.Version, Body: body})
	}
	g.Version = versionOf(g.Configs)
	out.graph = &g
	return out
}

// versionOf names a graph by what it says: a render that comes out the
// same has the same version, whatever moved underneath.
func versionOf(cs []machineapi.GraphConfig) string {
	sum := sha256.New()
	for _, c := range cs {
		sum.Write([]byte(c.Name + "\x00" + c.Body + "\x00"))
	}
	return hex.EncodeToString(sum.Sum(nil)[:12])
}

func hadBody(g *machineapi.Graph, name, body string) bool {
	if g == nil {
		return false
	}
	for _, c := range g.Configs {
		if c.Name == name {
			return c.Body == body
		}
	}
	return false
}

// execute renders one config for h, with functions that record their
// reads in rd.
func (s *snapshot) execute(c *compiled, h *hostRec, rd *reads) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	t, err := c.tmpl.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(template.FuncMap{"hosts": s.hostsFunc(rd), "value": s.valueFunc(rd)})
	w := &limitedBuffer{max: inventory.MaxAgentConfigBytes}
	if err := t.Execute(w, data{Host: Host{rec: h, reads: rd}}); err != nil {
		return "", execError(err)
	}
	return w.String(), nil
}

func (s *snapshot) hostsFunc(rd *reads) func(string) ([]Member, error) {
	return func(sel string) ([]Member, error) {
		rd.add(readKey{kind: readSelector, a: sel})
		m := s.selection(sel)
		return m.members, m.err
	}
}

// selection answers hosts "SELECTOR", once per round.
func (s *snapshot) selection(sel string) selection {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.memo[sel]; ok {
		return m
	}
	var m selection
	parsed, err := parseSelector(sel)
	if err != nil {
		m.err = err
	} else {
		for _, h := range s.sorted {
			if parsed.member(h) {
				m.members = append(m.members, member(h))
			}
		}
	}
	if s.memo == nil {
		s.memo = map[string]selection{}
	}
	s.memo[sel] = m
	return m
}

func (s *snapshot) valueFunc(rd *reads) func(string, string) (string, error) {
	return func(host, key string) (string, error) {
		mac, err := s.resolve(host, rd)
		if err != nil {
			return "", err
		}
		rd.add(readKey{kind: readValue, a: mac, b: key})
		return s.values[mac][key], nil
	}
}

// resolve finds the host a value call names: a MAC, or a hostname that
// exactly one host has.
func (s *snapshot) resolve(host string, rd *reads) (string, error) {
	if mac, err := inventory.NormalizeMAC(host); err == nil {
		rd.add(readKey{kind: readName, a: mac})
		if s.fleet[mac] == nil {
			return "", fmt.Errorf("no host has MAC %s", mac)
		}
		return mac, nil
	}
	rd.add(readKey{kind: readName, a: host})
	switch macs := s.byName[host]; len(macs) {
	case 0:
		return "", fmt.Errorf("no host is named %q", host)
	case 1:
		return macs[0], nil
	default:
		return "", fmt.Errorf("%d hosts are named %q (%s): name one by its MAC", len(macs), host, strings.Join(macs, ", "))
	}
}

// limitedBuffer fails a render that grows past max bytes.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("the rendered config is longer than %d bytes", b.max)
	}
	return b.Buffer.Write(p)
}

// execErrRE takes text/template's "template: NAME:LINE:COL: executing
// "NAME" at <CALL>: message" apart.
var execErrRE = regexp.MustCompile(`(?s)^template: .*?:(\d+):(\d+): executing ".*?" at (<.*?>): (.*)$`)

// execError says where a render failed, 1-based like a SyntaxError, and in
// which call: "line 7:12: at <value "db1" "key">: error calling value: …".
func execError(err error) error {
	m := execErrRE.FindStringSubmatch(err.Error())
	if m == nil {
		return errors.New(strings.TrimPrefix(err.Error(), "template: "))
	}
	col, _ := strconv.Atoi(m[2])
	return fmt.Errorf("line %s:%d: at %s: %s", m[1], col+1, m[3], m[4])
}
