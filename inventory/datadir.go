package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// KeyFile is the name of the sealing key inside the data dir.
const KeyFile = "secret.key"

// Errors of a data dir that is not what it should be.
var (
	// ErrDataDir: the dir shows an inventory was there but part of it is
	// missing or empty; Options.Init begins afresh.
	ErrDataDir = errors.New("data dir incomplete")
	// ErrCorrupt: the database cannot be read whole.
	ErrCorrupt = errors.New("database corrupt, restore from a backup")
)

// checkDataDir refuses a dir that had an inventory and lost part of it,
// unless init: an empty database file (replaced with init), or a database
// without its sealing key (a new key with init). A new dir (neither file)
// is fine: Open makes both.
func checkDataDir(dir string, init bool) error {
	db, key := filepath.Join(dir, DatabaseFile), filepath.Join(dir, KeyFile)
	dbInfo, dbErr := os.Stat(db)
	_, keyErr := os.Stat(key)
	switch {
	case dbErr != nil && !errors.Is(dbErr, fs.ErrNotExist):
		return fmt.Errorf("open inventory: %w", dbErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return fmt.Errorf("open inventory: %w", keyErr)
	case dbErr == nil && dbInfo.Size() == 0:
		if !init {
			return fmt.Errorf("open inventory: %s is empty (0 bytes): restore it from a backup, or start with --init to begin an empty inventory: %w", db, ErrDataDir)
		}
		return os.Remove(db)
	case dbErr == nil && keyErr != nil && !init:
		return fmt.Errorf("open inventory: %s is missing beside %s: every BMC password and token in it is sealed with that key; "+
			"restore it from a backup, or start with --init to make a new one (BMC passwords must then be entered again): %w", key, db, ErrDataDir)
	case dbErr != nil && keyErr == nil && !init:
		return fmt.Errorf("open inventory: %s is missing beside %s: restore it from a backup, or start with --init to begin an empty inventory: %w", db, key, ErrDataDir)
	}
	return nil
}

// openBolt opens the database file, turning a panic or a memory fault of
// a damaged file into ErrCorrupt.
func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
	if errors.Is(err, bolterrors.ErrInvalid) || errors.Is(err, bolterrors.ErrChecksum) || errors.Is(err, bolterrors.ErrVersionMismatch) {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return db, err
}

// guard turns a panic (bbolt panics on pages it cannot make sense of) or a
// fault (a file shorter than its pages) in the calling goroutine into
// ErrCorrupt.
func guard(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %v", ErrCorrupt, p)
	}
}

// loadWhole loads the index after reading every page of the database once
// and bringing it to SchemaVersion: a database damaged anywhere (a torn
// write, a disk error, a file cut short) stops Open with ErrCorrupt, never
// later, in the middle of serving; one of a newer schema with a
// *SchemaError.
func (db *DB) loadWhole() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer guard(&err)
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		if fi, err := os.Stat(db.bolt.Path()); err == nil && fi.Size() < tx.Size() {
			return fmt.Errorf("%w: the file is %d bytes, its pages reach %d: it was cut short", ErrCorrupt, fi.Size(), tx.Size())
		}
		return walk(tx)
	}); err != nil {
		return err
	}
	if err := db.upgradeSchema(); err != nil {
		return err
	}
	if err := db.load(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// walk visits every key of every bucket, nested ones included.
func walk(tx *bolt.Tx) error {
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		return walkBucket(b)
	})
}

func walkBucket(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				return walkBucket(nb)
			}
		}
		return nil
	})
}
