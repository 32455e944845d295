package fleetconfig

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/rackboot/rackboot/inventory"
)

// hostRec is a host as templates may see it, plus what the renderer
// needs to order changes and to know what it stored for the host.
type hostRec struct {
	mac, hostname, ip string
	labels            map[string]string
	facts             *inventory.Facts
	active            bool
	version           uint64
	failure           *inventory.RenderFailure // as stored on the host
}

func project(h *inventory.Host) *hostRec {
	return &hostRec{mac: h.MAC, hostname: h.Hostname, ip: h.IP, labels: h.Labels, facts: h.Facts,
		active: h.State == inventory.StateActive, version: h.Version, failure: h.RenderFailure}
}

// The fields of a host a template can read, as named in read keys.
const (
	fieldHostname = "hostname"
	fieldIP       = "ip"
	fieldLabels   = "labels"
	fieldFacts    = "facts"
)

// changedFields lists the readable fields that differ between a and b.
func changedFields(a, b *hostRec) []string {
	var out []string
	if a.hostname != b.hostname {
		out = append(out, fieldHostname)
	}
	if a.ip != b.ip {
		out = append(out, fieldIP)
	}
	if !maps.Equal(a.labels, b.labels) {
		out = append(out, fieldLabels)
	}
	if !reflect.DeepEqual(a.facts, b.facts) {
		out = append(out, fieldFacts)
	}
	return out
}

// selector is a parsed hosts "SELECTOR": every label must be there and,
// where a value is given, equal it.
type selector struct {
	keys   []string
	values map[string]string // key → value, only for k=v terms
}

// parseSelector reads "k=v,k2=v2" or "k"; "" selects every host.
func parseSelector(s string) (selector, error) {
	sel := selector{values: map[string]string{}}
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, term := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(strings.TrimSpace(term), "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return sel, fmt.Errorf("selector %q: want key=value,key=value (or key alone)", s)
		}
		if slices.Contains(sel.keys, k) {
			return sel, fmt.Errorf("selector %q: key %q twice", s, k)
		}
		sel.keys = append(sel.keys, k)
		if hasValue {
			sel.values[k] = v
		}
	}
	return sel, nil
}

func (s *selector) matches(labels map[string]string) bool {
	for _, k := range s.keys {
		got, ok := labels[k]
		if !ok {
			return false
		}
		if want, ok := s.values[k]; ok && got != want {
			return false
		}
	}
	return true
}

// member reports whether h is one of the hosts s returns.
func (s *selector) member(h *hostRec) bool {
	return h != nil && h.active && s.matches(h.labels)
}
