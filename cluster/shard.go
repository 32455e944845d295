package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
)

// Shard returns which hosts this appliance looks after (polls their BMCs):
// of the live appliances, the one whose id hashed with the MAC ranks
// highest (rendezvous hashing). When an appliance goes away only its
// hosts move, spread over the others; when one joins it takes a share
// from each. Every appliance computes the same answer from the same list.
// When the list cannot be read, it looks after no host: etcd is out of
// reach, and so is recording what a poll found.
func (m *Member) Shard(ctx context.Context) func(mac string) bool {
	list, err := m.Appliances(ctx)
	if err != nil {
		m.log().Warn("cannot list appliances; polling no BMC this round", "err", err)
		return func(string) bool { return false }
	}
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ID
	}
	return func(mac string) bool { return owner(ids, mac) == m.ID }
}

// owner is the id that ranks highest for mac.
func owner(ids []string, mac string) string {
	var best string
	var bestScore uint64
	for _, id := range ids {
		h := sha256.Sum256([]byte(id + "\x00" + mac))
		if s := binary.BigEndian.Uint64(h[:8]); best == "" || s > bestScore {
			best, bestScore = id, s
		}
	}
	return best
}
