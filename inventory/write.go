package inventory

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/rackboot/rackboot/machineapi"
	bolt "go.etcd.io/bbolt"
)

func (db *DB) retention() int {
	if db.opts.EventRetention > 0 {
		return db.opts.EventRetention
	}
	return 1000
}

// write runs fn in a bbolt transaction and, once it has committed,
// applies the change it produced to the index and the feed. fn may run more
// than once (bbolt retries a batch without a failed member), so it must
// derive everything from tx and assign, not accumulate.
func (db *DB) write(ctx context.Context, fn func(tx *bolt.Tx) (Change, error)) (Change, error) {
	if err := ctx.Err(); err != nil {
		return Change{}, err
	}
	var c Change
	txFn := func(tx *bolt.Tx) error {
		var err error
		c, err = fn(tx)
		return err
	}
	// A lone writer commits at once; only writers that arrive while
	// another is in flight wait to share a batch (and its fsync).
	var err error
	if db.writers.Add(1) == 1 {
		err = db.bolt.Update(txFn)
	} else {
		err = db.bolt.Batch(txFn)
	}
	db.writers.Add(-1)
	if err != nil {
		return Change{}, err
	}
	db.committed(c)
	return c, nil
}

// prepareNewHost is h as either store creates it: its MAC normalized, a
// copy of its maps, discovered unless a state is given, validated.
func prepareNewHost(h Host) (Host, error) {
	mac, err := NormalizeMAC(h.MAC)
	if err != nil {
		return Host{}, err
	}
	h = h.Clone()
	h.MAC = mac
	if h.State == "" {
		h.State = StateDiscovered
	}
	return h, h.Validate()
}

// CreateHost implements Store.
func (db *DB) CreateHost(ctx context.Context, h Host, actor string) (Host, error) {
	h, err := prepareNewHost(h)
	if err != nil {
		return Host{}, err
	}
	mac := h.MAC
	uid := newUID()
	c, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		if tx.Bucket(bucketHosts).Get([]byte(mac)) != nil {
			return Change{}, fmt.Errorf("host %s: %w", mac, ErrExists)
		}
		now := db.now()
		r := record{Host: h.Clone()}
		r.CreatedAt, r.UpdatedAt, r.StateChangedAt = now, now, now
		r.Credentials.UID = uid
		if err := db.seal.sealSecrets(&r, nil); err != nil {
			return Change{}, err
		}
		if err := putRecord(tx, &r); err != nil {
			return Change{}, err
		}
		e := Event{Time: now, Type: EventCreated, To: r.State, Actor: actor}
		return Change{Host: r.Host, Event: e, Revision: r.Version}, appendEvent(tx, mac, &e, db.retention())
	})
	return c.Host, err
}

// sealSecrets moves new plaintext secrets (a BMC password, a deploy seed)
// into their sealed fields; a secret not given keeps the one sealed before
// (old), unless its holder (the BMC, the deploy plan) is gone.
func (s *sealer) sealSecrets(r *record, old *record) error {
	switch {
	case r.BMC == nil:
		r.BMCPasswordSealed = nil
	case r.BMC.Password != "":
		r.BMCPasswordSealed = s.seal(r.BMC.Password, r.MAC)
	case old != nil:
		r.BMCPasswordSealed = old.BMCPasswordSealed
	}
	if r.BMC != nil {
		r.BMC.Password = ""
		r.BMC.HasPassword = r.BMCPasswordSealed != nil
	}
	switch {
	case r.Deploy == nil:
		r.SeedSealed = nil
	case r.Deploy.Seed != nil:
		b, err := json.Marshal(r.Deploy.Seed)
		if err != nil {
			return fmt.Errorf("host %s: encode seed: %w", r.MAC, err)
		}
		r.SeedSealed = s.seal(string(b), seedAAD(r.MAC))
	case old != nil:
		r.SeedSealed = old.SeedSealed
	}
	if r.Deploy != nil {
		r.Deploy.Seed = nil
		r.Deploy.HasSeed = r.SeedSealed != nil
	}
	return nil
}

// seedAAD binds a sealed seed to its host, apart from its BMC password.
func seedAAD(mac string) string { return mac + "\x00seed" }

// ModifyHost implements Store.
func (db *DB) ModifyHost(ctx context.Context, mac string, version uint64, fn func(*Host) (Edit, error)) (Host, error) {
	c, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, mac)
		if err != nil {
			return Change{}, err
		}
		if version != 0 && version != r.Version {
			return Change{}, fmt.Errorf("host %s: %w: stored version is %d, request was made against %d", mac, ErrConflict, r.Version, version)
		}
		nr, e, quiet, err := applyEdit(r, fn, db.now())
		if err != nil {
			return Change{Host: r.Host}, err
		}
		if err := db.seal.sealSecrets(&nr, &r); err != nil {
			return Change{}, err
		}
		if err := putRecord(tx, &nr); err != nil {
			return Change{}, err
		}
		if quiet {
			return Change{Host: nr.Host, Revision: nr.Version}, nil
		}
		return Change{Host: nr.Host, Event: e, Revision: nr.Version}, appendEvent(tx, mac, &e, db.retention())
	})
	if errors.Is(err, errUnchanged) {
		return db.Host(ctx, mac)
	}
	return c.Host, err
}

// applyEdit runs fn on a copy of the stored record r and checks the
// result: what no edit may touch, Validate, the lifecycle's allow-list for
// a state change. It returns the new record (secrets not yet sealed) and
// the event to log, unless quiet says the change is not worth one. An edit that
// changes nothing returns errUnchanged.
func applyEdit(r record, fn func(*Host) (Edit, error), now time.Time) (nr record, e Event, quiet bool, err error) {
	mac := r.MAC
	h := r.Host.Clone()
	ed, err := fn(&h)
	if err != nil {
		return record{}, Event{}, false, err
	}
	if h.MAC != r.MAC || h.State != r.State || h.Version != r.Version || h.Credentials.UID != r.Credentials.UID {
		return record{}, Event{}, false, fmt.Errorf("host %s: an edit may not set mac, state, version or uid (states move through Edit.To)", mac)
	}
	if err := h.Validate(); err != nil {
		return record{}, Event{}, false, err
	}
	e = Event{Time: now, Type: cmp.Or(ed.Type, EventUpdated), Cause: ed.Cause, Actor: ed.Actor}
	if ed.To != "" {
		if err := CheckTransition(&r.Host, ed.To); err != nil {
			return record{}, Event{}, false, err
		}
		h.Failure = nil
		if ed.To == StateFailed {
			h.Failure = &Failure{Cause: ed.Cause, From: r.State}
		}
		h.State, h.StateChangedAt = ed.To, now
		e.Type, e.From, e.To = EventTransition, r.State, ed.To
	} else if reflect.DeepEqual(h, r.Host) {
		return record{}, Event{}, false, errUnchanged
	}
	nr = record{Host: h}
	nr.UpdatedAt = now
	return nr, e, ed.Quiet && ed.To == "", nil
}

// errUnchanged rolls back an edit that changed nothing, so it costs no
// version, no event and no feed message.
var errUnchanged = errors.New("unchanged")

// UpdateHost changes fields of a host and logs ev (type "updated" unless
// it says otherwise): ModifyHost without a state change.
func (db *DB) UpdateHost(ctx context.Context, mac string, version uint64, fn func(*Host) error, ev Event) (Host, error) {
	return db.ModifyHost(ctx, mac, version, func(h *Host) (Edit, error) {
		return Edit{Type: ev.Type, Cause: ev.Cause, Actor: ev.Actor}, fn(h)
	})
}

// Transition moves a host to state to if the lifecycle allows it, and
// logs the event: ModifyHost with nothing but a state change.
func (db *DB) Transition(ctx context.Context, mac string, to State, cause, actor string) (Host, error) {
	if _, err := ParseState(string(to)); err != nil {
		return Host{}, err
	}
	return db.ModifyHost(ctx, mac, 0, func(*Host) (Edit, error) {
		return Edit{To: to, Cause: cause, Actor: actor}, nil
	})
}

// DeleteHost implements Store.
func (db *DB) DeleteHost(ctx context.Context, mac, actor string) error {
	_, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, mac)
		if err != nil {
			return Change{}, err
		}
		hosts := tx.Bucket(bucketHosts)
		rev, err := hosts.NextSequence()
		if err != nil {
			return Change{}, err
		}
		if err := hosts.Delete([]byte(mac)); err != nil {
			return Change{}, err
		}
		for _, name := range [][]byte{bucketEvents, bucketChatter} {
			if ev := tx.Bucket(name); ev.Bucket([]byte(mac)) != nil {
				if err := ev.DeleteBucket([]byte(mac)); err != nil {
					return Change{}, err
				}
			}
		}
		if err := deleteValues(tx, mac); err != nil {
			return Change{}, err
		}
		r.Version = rev
		e := Event{Time: db.now(), Type: EventDeleted, From: r.State, Actor: actor}
		return Change{Host: r.Host, Event: e, Deleted: true, Revision: rev}, nil
	})
	return err
}

// AppendEvent implements Store.
func (db *DB) AppendEvent(ctx context.Context, mac string, e Event) error {
	if e.Time.IsZero() {
		e.Time = db.now()
	}
	_, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, mac)
		if err != nil {
			return Change{}, err
		}
		ev := e
		return Change{Host: r.Host, Event: ev, Revision: r.Version}, appendEvent(tx, mac, &ev, db.retention())
	})
	return err
}

// Events implements Store.
func (db *DB) Events(_ context.Context, mac string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 2 * db.retention() // both classes
	}
	var out []Event
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketHosts).Get([]byte(mac)) == nil {
			return fmt.Errorf("host %s: %w", mac, ErrNotFound)
		}
		// Both classes, newest first: a merge of two cursors by sequence.
		var cs []*bolt.Cursor
		var ks, vs [][]byte
		for _, name := range [][]byte{bucketEvents, bucketChatter} {
			if b := tx.Bucket(name).Bucket([]byte(mac)); b != nil {
				c := b.Cursor()
				k, v := c.Last()
				cs, ks, vs = append(cs, c), append(ks, k), append(vs, v)
			}
		}
		for len(out) < limit {
			i := -1
			for j := range cs {
				if ks[j] != nil && (i < 0 || bytes.Compare(ks[j], ks[i]) > 0) {
					i = j
				}
			}
			if i < 0 {
				return nil
			}
			var e Event
			if err := json.Unmarshal(vs[i], &e); err != nil {
				return fmt.Errorf("decode event %x of %s: %w", ks[i], mac, err)
			}
			out = append(out, e)
			ks[i], vs[i] = cs[i].Prev()
		}
		return nil
	})
	return out, err
}

// BMCPassword returns the unsealed BMC password of a host, for the power
// controller only; it is never part of a Host value.
func (db *DB) BMCPassword(_ context.Context, mac string) (string, error) {
	r, err := db.record(mac)
	if err != nil || r.BMCPasswordSealed == nil {
		return "", err
	}
	return db.seal.open(r.BMCPasswordSealed, mac)
}

// DeploySeed implements Store.
func (db *DB) DeploySeed(_ context.Context, mac string) (machineapi.Seed, error) {
	r, err := db.record(mac)
	if err != nil {
		return machineapi.Seed{}, err
	}
	return db.seal.openSeed(&r)
}

// openSeed unseals the seed stored with a host's deploy request.
func (s *sealer) openSeed(r *record) (machineapi.Seed, error) {
	var sd machineapi.Seed
	if r.SeedSealed == nil {
		return sd, fmt.Errorf("host %s: %w: no deploy seed", r.MAC, ErrNotFound)
	}
	plain, err := s.open(r.SeedSealed, seedAAD(r.MAC))
	if err != nil {
		return sd, fmt.Errorf("host %s: seed: %w", r.MAC, err)
	}
	if err := json.Unmarshal([]byte(plain), &sd); err != nil {
		return sd, fmt.Errorf("host %s: decode seed: %w", r.MAC, err)
	}
	return sd, nil
}

// record reads a host's stored record, sealed secrets included.
func (db *DB) record(mac string) (record, error) {
	var r record
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getRecord(tx, mac)
		return err
	})
	return r, err
}
