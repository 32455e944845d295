package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lease is one DHCP address as stored: bound to a MAC until Expires, or
// quarantined (MAC empty) after a client declined it. The DHCP server keeps
// its own in-memory index and uses the store only to survive restarts.
type Lease struct {
	IP       netip.Addr `json:"ip"`
	MAC      string     `json:"mac,omitempty"`
	Hostname string     `json:"hostname,omitempty"`
	Expires  time.Time  `json:"expires"`
	Declined bool       `json:"declined,omitempty"`
}

// LeaseChange is one batch of lease writes: Put stores (or replaces) the
// lease of each address, Delete forgets addresses.
type LeaseChange struct {
	Put    []Lease
	Delete []netip.Addr
}

var bucketLeases = []byte("leases")

// Leases returns every stored lease, expired ones included (the DHCP server
// decides what expiry means).
func (db *DB) Leases() ([]Lease, error) {
	var out []Lease
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeases)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var l Lease
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("decode lease %x: %w", k, err)
			}
			out = append(out, l)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return out, nil
}

// WriteLeases applies the changes, in order, in one transaction: when it
// returns nil, every one of them is on disk. Callers batch many changes into
// one call so that they share one fsync; leases are keyed by address, so one
// address can never be stored for two MACs.
func (db *DB) WriteLeases(ctx context.Context, changes []LeaseChange) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLeases)
		if err != nil {
			return err
		}
		for i := range changes {
			if err := applyLeaseChange(b, &changes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write leases: %w", err)
	}
	return nil
}

// applyLeaseChange deletes before it puts, so a change that moves a MAC
// from one address to another may name both.
func applyLeaseChange(b *bolt.Bucket, c *LeaseChange) error {
	for _, ip := range c.Delete {
		if err := b.Delete(leaseKey(ip)); err != nil {
			return err
		}
	}
	for i := range c.Put {
		if err := putLease(b, &c.Put[i]); err != nil {
			return err
		}
	}
	return nil
}

func putLease(b *bolt.Bucket, l *Lease) error {
	if !l.IP.Is4() {
		return fmt.Errorf("lease %v: %w: not an IPv4 address", l.IP, ErrInvalid)
	}
	v, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode lease %v: %w", l.IP, err)
	}
	return b.Put(leaseKey(l.IP), v)
}

// leaseKey is the address's four bytes, so the bucket sorts by address.
func leaseKey(ip netip.Addr) []byte {
	a := ip.As4()
	return a[:]
}
