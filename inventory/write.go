package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

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

// CreateHost implements Store.
func (db *DB) CreateHost(ctx context.Context, h Host, actor string) (Host, error) {
	mac, err := NormalizeMAC(h.MAC)
	if err != nil {
		return Host{}, err
	}
	h = h.Clone()
	h.MAC = mac
	if h.State == "" {
		h.State = StateDiscovered
	}
	if err := h.Validate(); err != nil {
		return Host{}, err
	}
	c, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		if tx.Bucket(bucketHosts).Get([]byte(mac)) != nil {
			return Change{}, fmt.Errorf("host %s: %w", mac, ErrExists)
		}
		now := db.now()
		r := record{Host: h.Clone()}
		r.CreatedAt, r.UpdatedAt, r.StateChangedAt = now, now, now
		db.sealPassword(&r, nil)
		if err := putRecord(tx, &r); err != nil {
			return Change{}, err
		}
		e := Event{Time: now, Type: EventCreated, To: r.State, Actor: actor}
		return Change{Host: r.Host, Event: e}, appendEvent(tx, mac, &e, db.retention())
	})
	return c.Host, err
}

// sealPassword moves a new plaintext password (if any) into the sealed
// field; with none given, the previously sealed one (old) is kept.
func (db *DB) sealPassword(r *record, old []byte) {
	switch {
	case r.BMC == nil:
		r.BMCPasswordSealed = nil
	case r.BMC.Password != "":
		r.BMCPasswordSealed = db.seal.seal(r.BMC.Password, r.MAC)
	default:
		r.BMCPasswordSealed = old
	}
	if r.BMC != nil {
		r.BMC.Password = ""
		r.BMC.HasPassword = r.BMCPasswordSealed != nil
	}
}

// UpdateHost implements Store.
func (db *DB) UpdateHost(ctx context.Context, mac string, version uint64, fn func(*Host) error, ev Event) (Host, error) {
	if ev.Type == "" {
		ev.Type = EventUpdated
	}
	c, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, mac)
		if err != nil {
			return Change{}, err
		}
		if version != 0 && version != r.Version {
			return Change{}, fmt.Errorf("host %s: %w: stored version is %d, request was made against %d", mac, ErrConflict, r.Version, version)
		}
		h := r.Host.Clone()
		if err := fn(&h); err != nil {
			return Change{}, err
		}
		if h.MAC != r.MAC || h.State != r.State || h.Version != r.Version {
			return Change{}, fmt.Errorf("host %s: update may not change mac, state or version", mac)
		}
		if err := h.Validate(); err != nil {
			return Change{}, err
		}
		if reflect.DeepEqual(h, r.Host) {
			return Change{Host: r.Host}, errUnchanged
		}
		nr := record{Host: h}
		nr.UpdatedAt = db.now()
		db.sealPassword(&nr, r.BMCPasswordSealed)
		if err := putRecord(tx, &nr); err != nil {
			return Change{}, err
		}
		e := ev
		e.Time = nr.UpdatedAt
		return Change{Host: nr.Host, Event: e}, appendEvent(tx, mac, &e, db.retention())
	})
	if errors.Is(err, errUnchanged) {
		return db.Host(ctx, mac)
	}
	return c.Host, err
}

// errUnchanged rolls back an update that changed nothing, so it costs no
// version, no event and no feed message.
var errUnchanged = errors.New("unchanged")

// Transition implements Store.
func (db *DB) Transition(ctx context.Context, mac string, to State, cause, actor string) (Host, error) {
	return db.transitionIf(ctx, mac, nil, to, cause, actor)
}

// transitionIf is Transition with a precondition checked inside the
// transaction.
func (db *DB) transitionIf(ctx context.Context, mac string, pre func(*Host) error, to State, cause, actor string) (Host, error) {
	if _, err := ParseState(string(to)); err != nil {
		return Host{}, err
	}
	c, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, mac)
		if err != nil {
			return Change{}, err
		}
		if pre != nil {
			if err := pre(&r.Host); err != nil {
				return Change{}, err
			}
		}
		if err := CheckTransition(&r.Host, to); err != nil {
			return Change{}, err
		}
		from, now := r.State, db.now()
		r.Failure = nil
		if to == StateFailed {
			r.Failure = &Failure{Cause: cause, From: from}
		}
		r.State, r.StateChangedAt, r.UpdatedAt = to, now, now
		if err := putRecord(tx, &r); err != nil {
			return Change{}, err
		}
		e := Event{Time: now, Type: EventTransition, From: from, To: to, Cause: cause, Actor: actor}
		return Change{Host: r.Host, Event: e}, appendEvent(tx, mac, &e, db.retention())
	})
	return c.Host, err
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
		if ev := tx.Bucket(bucketEvents); ev.Bucket([]byte(mac)) != nil {
			if err := ev.DeleteBucket([]byte(mac)); err != nil {
				return Change{}, err
			}
		}
		r.Version = rev
		e := Event{Time: db.now(), Type: EventDeleted, From: r.State, Actor: actor}
		return Change{Host: r.Host, Event: e, Deleted: true}, nil
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
		return Change{Host: r.Host, Event: ev}, appendEvent(tx, mac, &ev, db.retention())
	})
	return err
}

// Events implements Store.
func (db *DB) Events(_ context.Context, mac string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = db.retention()
	}
	var out []Event
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketHosts).Get([]byte(mac)) == nil {
			return fmt.Errorf("host %s: %w", mac, ErrNotFound)
		}
		b := tx.Bucket(bucketEvents).Bucket([]byte(mac))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %x of %s: %w", k, mac, err)
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// BMCPassword returns the unsealed BMC password of a host, for the power
// controller only; it is never part of a Host value.
func (db *DB) BMCPassword(_ context.Context, mac string) (string, error) {
	var sealed []byte
	err := db.bolt.View(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, mac)
		sealed = r.BMCPasswordSealed
		return err
	})
	if err != nil || sealed == nil {
		return "", err
	}
	return db.seal.open(sealed, mac)
}
