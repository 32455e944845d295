package engine

import (
	"slices"
	"sort"
)

// depKeys records each node's requires before rewiring; e.mu is held.
func depKeys(nodes map[Key]*node) map[*node][]string {
	out := make(map[*node][]string, len(nodes))
	for _, n := range nodes {
		out[n] = keysOf(n.deps)
	}
	return out
}

// wakeRewired checks again every node whose requires changed: a
// dependency that went away may have been the only thing holding it back.
func (e *Engine) wakeRewired(nodes map[Key]*node, before map[*node][]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range nodes {
		if !slices.Equal(before[n], keysOf(n.deps)) {
			n.wake()
		}
	}
}

func keysOf(nodes []*node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.key.String()
	}
	sort.Strings(out)
	return out
}
