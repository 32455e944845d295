package inventory

import (
	"slices"
	"strings"
)

// hostIndex is a store's hosts in memory, by MAC and in MAC order; it
// changes only after the write that changed a host has committed.
type hostIndex struct {
	hosts  map[string]*Host
	sorted []*Host // the same hosts, ordered by MAC
}

// index puts h into the in-memory index unless a newer version is there.
// The caller holds the store's lock.
func (x *hostIndex) index(h *Host) {
	cur, ok := x.hosts[h.MAC]
	if ok && cur.Version > h.Version {
		return
	}
	c := h.Clone()
	x.hosts[h.MAC] = &c
	i := x.position(h.MAC)
	if ok {
		x.sorted[i] = &c
		return
	}
	x.sorted = slices.Insert(x.sorted, i, &c)
}

// position is where mac is, or would be, in x.sorted.
func (x *hostIndex) position(mac string) int {
	i, _ := slices.BinarySearchFunc(x.sorted, mac, func(h *Host, m string) int { return strings.Compare(h.MAC, m) })
	return i
}

func (x *hostIndex) unindex(mac string, rev uint64) {
	cur, ok := x.hosts[mac]
	if !ok || cur.Version > rev {
		return
	}
	delete(x.hosts, mac)
	i := x.position(mac)
	x.sorted = slices.Delete(x.sorted, i, i+1)
}
