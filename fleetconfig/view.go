package fleetconfig

import "github.com/rackboot/rackboot/inventory"

// Host is the host a config is rendered for, as its template sees it
// (.Host). Its fields are methods so that a render records exactly what it
// read: a change to a field no render read re-renders nothing.
type Host struct {
	rec   *hostRec
	reads *reads
}

// Hostname is the host's inventory hostname ("" when none is set).
func (h Host) Hostname() string { h.field(fieldHostname); return h.rec.hostname }

// MAC is the MAC the host boots from, lowercase, colon-separated. It never
// changes, so reading it records nothing.
func (h Host) MAC() string { return h.rec.mac }

// IP is the host's address in the inventory ("" when none is set).
func (h Host) IP() string { h.field(fieldIP); return h.rec.ip }

// Labels are the host's labels.
func (h Host) Labels() map[string]string { h.field(fieldLabels); return h.rec.labels }

// Facts are what the installer found on the host (nil before inspection).
func (h Host) Facts() *inventory.Facts { h.field(fieldFacts); return h.rec.facts }

func (h Host) field(name string) { h.reads.add(readKey{kind: readField, a: h.rec.mac, b: name}) }

// Member is one host of a hosts "SELECTOR" answer: the same fields as
// .Host. Its fields are plain (a template reads them by the hundred, and
// text/template's method calls are slow), so a render that asks for the
// members of a selector counts as reading every field of every member.
type Member struct {
	Hostname string
	MAC      string
	IP       string
	Labels   map[string]string
	Facts    *inventory.Facts
}

func member(h *hostRec) Member {
	return Member{Hostname: h.hostname, MAC: h.mac, IP: h.ip, Labels: h.labels, Facts: h.facts}
}

// data is a template's dot.
type data struct {
	Host Host
}

// readKind says what a read key names.
type readKind uint8

const (
	readField    readKind = iota + 1 // a: MAC, b: field
	readSelector                     // a: the selector, as written: who the members are and their fields
	readName                         // a: a hostname or a MAC, for value
	readValue                        // a: MAC, b: key
)

// readKey is one thing a render read.
type readKey struct {
	kind readKind
	a, b string
}

// reads is what one render read (a key may come more than once).
type reads []readKey

func (r *reads) add(k readKey) { *r = append(*r, k) }
