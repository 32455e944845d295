package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options tunes a DB. The zero value is sensible.
type Options struct {
	// Init lets Open begin afresh where the data dir shows an inventory
	// was there: an empty database file is replaced, a missing sealing key
	// beside a database is made anew (the secrets sealed with the old one
	// are lost). Without it, Open refuses such a data dir (ErrDataDir).
	Init           bool
	Logger         *slog.Logger     // silent when nil
	Now            func() time.Time // clock; time.Now when nil
	EventRetention int              // events kept per host; default 1000
	LockTimeout    time.Duration    // wait for another process's lock; default 1s
}

// DB is the bbolt implementation of Store. Files in its directory:
// rackboot.db (the database) and secret.key (the sealing key, 0600).
type DB struct {
	bolt    *bolt.DB
	seal    *sealer
	opts    Options
	log     *slog.Logger
	feed    feed
	writers atomic.Int32 // writes in flight, to choose Update or Batch
	mu      sync.RWMutex
	hostIndex
}

var _ Store = (*DB)(nil)

var (
	bucketHosts  = []byte("hosts")
	bucketEvents = []byte("events")
	// bucketChatter holds each host's frequent events (Event.Chatter),
	// numbered from the same sequence as its events.
	bucketChatter = []byte("events-chatter")
)

// DatabaseFile is the name of the bbolt file inside the data dir.
const DatabaseFile = "rackboot.db"

// Open opens the inventory in dir, creating it in a new (empty or
// missing) dir. It fails with an error wrapping ErrLocked if another
// process holds the database, ErrDataDir if the dir is not what it should
// be (an empty database, a database without its key: see Options.Init),
// ErrCorrupt if the database cannot be read whole, and a *SchemaError
// (ErrSchemaNewer) if a newer rackboot wrote it. A database of an older
// schema is migrated first (SchemaVersion).
func Open(dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open inventory: %w", err)
	}
	path := filepath.Join(dir, DatabaseFile)
	if err := checkDataDir(dir, opts.Init); err != nil {
		return nil, err
	}
	seal, err := loadSealer(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("open inventory: %w", err)
	}
	bdb, err := openBolt(path, cmp.Or(opts.LockTimeout, time.Second))
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open inventory %s: %w: another rackboot holds its lock", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open inventory %s: %w", path, err)
	}
	bdb.MaxBatchDelay = 2 * time.Millisecond
	db := &DB{bolt: bdb, seal: seal, opts: opts, log: opts.Logger, hostIndex: hostIndex{hosts: map[string]*Host{}}}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	if err := db.loadWhole(); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("open inventory %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) load() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketHosts, bucketEvents, bucketChatter} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("host %s: %w", k, err)
			}
			db.index(&r.Host)
			return nil
		})
	})
}

// Close closes the database and ends every subscription.
func (db *DB) Close() error {
	db.feed.closeAll()
	return db.bolt.Close()
}

func (db *DB) now() time.Time {
	if db.opts.Now != nil {
		return db.opts.Now().UTC()
	}
	return time.Now().UTC()
}

// committed applies a stored change to the index and publishes it.
func (db *DB) committed(c Change) {
	db.mu.Lock()
	if c.Deleted {
		db.unindex(c.Host.MAC, c.Host.Version)
	} else {
		db.index(&c.Host)
	}
	db.mu.Unlock()
	db.feed.publish(c)
}

// Revision implements Store: bbolt's transaction id, which every
// committed write moves on by one.
func (db *DB) Revision() uint64 {
	var id int
	db.bolt.View(func(tx *bolt.Tx) error {
		id = tx.ID()
		return nil
	})
	return uint64(id)
}

// Subscribe implements Store.
func (db *DB) Subscribe(ctx context.Context) <-chan Change { return db.feed.subscribe(ctx) }

// Host implements Store.
func (db *DB) Host(_ context.Context, mac string) (Host, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	h, ok := db.hosts[mac]
	if !ok {
		return Host{}, fmt.Errorf("host %s: %w", mac, ErrNotFound)
	}
	return h.Clone(), nil
}

// Hosts implements Store.
func (db *DB) Hosts(_ context.Context, q Query) (Page, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return q.page(db.sorted), nil
}

// CountByState implements Store.
func (db *DB) CountByState() map[State]int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	n := make(map[State]int, len(States))
	for _, h := range db.hosts {
		n[h.State]++
	}
	return n
}
