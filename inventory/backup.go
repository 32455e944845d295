package inventory

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rackboot/rackboot/atomicfile"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// A backup is a tar archive of, in this order: backup.json (BackupInfo),
// secret.key (the sealing key: without it a restored inventory's BMC
// passwords, seeds and tokens are lost), rackboot.db (one read
// transaction's copy of the database), and rackboot.db.sha256 (its
// SHA-256, written after it, so a backup cut short in transit is told
// apart from a whole one). The archive holds the key, so it is a secret:
// whoever has it has every BMC password of the fleet.
const (
	backupInfoFile = "backup.json"
	backupSumFile  = DatabaseFile + ".sha256"
)

// BackupInfo describes a backup.
type BackupInfo struct {
	Format  int       `json:"format"` // 1
	Schema  uint64    `json:"schema"` // the database's SchemaVersion
	Created time.Time `json:"created"`
	// DBBytes is the size of the database copy.
	DBBytes int64 `json:"db_bytes"`
}

// ErrBackup is an archive that is not a whole rackboot backup.
var ErrBackup = errors.New("not a whole rackboot backup")

// Backup writes a backup of the inventory to w: the database as one read
// transaction saw it (writers carry on meanwhile; bbolt keeps the pages
// that transaction reads until it ends) and the sealing key.
func (db *DB) Backup(w io.Writer) (BackupInfo, error) {
	var info BackupInfo
	err := db.bolt.View(func(tx *bolt.Tx) error {
		info = BackupInfo{Format: 1, Schema: SchemaVersion, Created: db.now(), DBBytes: tx.Size()}
		tw := tar.NewWriter(w)
		meta, _ := json.Marshal(info)
		if err := writeEntry(tw, backupInfoFile, meta); err != nil {
			return err
		}
		if err := writeEntry(tw, KeyFile, db.seal.key); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: DatabaseFile, Mode: 0o600, Size: tx.Size(), ModTime: info.Created}); err != nil {
			return err
		}
		sum := sha256.New()
		if _, err := tx.WriteTo(io.MultiWriter(tw, sum)); err != nil {
			return err
		}
		if err := writeEntry(tw, backupSumFile, []byte(hex.EncodeToString(sum.Sum(nil))+"\n")); err != nil {
			return err
		}
		return tw.Close()
	})
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup: %w", err)
	}
	return info, nil
}

func writeEntry(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b))}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// ReadBackup reads a backup from r, writing the database to db as it
// goes, and returns its description and sealing key. It fails with
// ErrBackup unless every part is there, in order, and the database's
// SHA-256 matches.
func ReadBackup(r io.Reader, db io.Writer) (BackupInfo, []byte, error) {
	var info BackupInfo
	var key []byte
	tr := tar.NewReader(r)
	sum := sha256.New()
	want := []string{backupInfoFile, KeyFile, DatabaseFile, backupSumFile}
	for _, name := range want {
		h, err := tr.Next()
		if err != nil {
			return info, nil, fmt.Errorf("%w: %s missing: %v", ErrBackup, name, err)
		}
		if h.Name != name {
			return info, nil, fmt.Errorf("%w: found %q where %s should be", ErrBackup, h.Name, name)
		}
		switch name {
		case DatabaseFile:
			n, err := io.Copy(io.MultiWriter(db, sum), tr)
			if err != nil {
				return info, nil, fmt.Errorf("%w: %s cut short after %d bytes: %v", ErrBackup, name, n, err)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<16))
		if err != nil {
			return info, nil, fmt.Errorf("%w: %s: %v", ErrBackup, name, err)
		}
		switch name {
		case backupInfoFile:
			if err := json.Unmarshal(b, &info); err != nil || info.Format != 1 {
				return info, nil, fmt.Errorf("%w: %s is not format 1: %s", ErrBackup, name, b)
			}
		case KeyFile:
			if len(b) != 32 {
				return info, nil, fmt.Errorf("%w: %s is %d bytes, want 32", ErrBackup, name, len(b))
			}
			key = b
		case backupSumFile:
			if got := hex.EncodeToString(sum.Sum(nil)); string(b) != got+"\n" {
				return info, nil, fmt.Errorf("%w: %s is %d bytes with SHA-256 %s; the backup says %q", ErrBackup, DatabaseFile, info.DBBytes, got, b)
			}
		}
	}
	return info, key, nil
}

// Restore errors.
var (
	// ErrNotEmpty: the data dir holds an inventory and force was not given.
	ErrNotEmpty = errors.New("data dir holds an inventory")
)

// RestoreOptions tunes Restore.
type RestoreOptions struct {
	// Force replaces an inventory the data dir holds (never one a running
	// rackboot holds).
	Force bool
}

// Restore writes the backup read from r into the data dir dir (created
// 0700 if need be): its database and sealing key, each replaced whole
// (atomicfile). It refuses a dir a running rackboot holds (ErrLocked),
// one that holds an inventory unless opts.Force (ErrNotEmpty), and a
// backup that is not whole (ErrBackup), whose database fails bbolt's
// check, is of a newer schema, or whose key does not open its secrets;
// what it refuses leaves dir as it was.
func Restore(r io.Reader, dir string, opts RestoreOptions) (BackupInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	dbPath, keyPath := filepath.Join(dir, DatabaseFile), filepath.Join(dir, KeyFile)
	if err := checkRestoreTarget(dbPath, keyPath, opts.Force); err != nil {
		return BackupInfo{}, err
	}
	tmp, err := os.CreateTemp(dir, ".restore-"+DatabaseFile+"-*")
	if err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(0o600); err != nil {
		return BackupInfo{}, fmt.Errorf("restore: %w", err)
	}
	info, key, err := ReadBackup(r, tmp)
	if err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	if err := CheckFile(tmp.Name(), key); err != nil {
		return info, fmt.Errorf("restore: the backup's database: %w", err)
	}
	// Once more, right before the files are replaced: a rackboot may
	// have started meanwhile.
	if err := checkRestoreTarget(dbPath, keyPath, opts.Force); err != nil {
		return info, err
	}
	if err := atomicfile.Write(keyPath, key, 0o600); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	if err := ownLikeDir(dir, keyPath, tmp.Name()); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp.Name(), dbPath); err != nil {
		return info, fmt.Errorf("restore: %w", err)
	}
	return info, atomicfile.SyncDir(dir)
}

// ownLikeDir gives files the owner of dir: restored by root into the data
// dir of a service running as its own user (rackboot, in the Debian
// package), they must be that user's to be opened.
func ownLikeDir(dir string, files ...string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return nil
	}
	for _, f := range files {
		if err := os.Chown(f, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}

// checkRestoreTarget refuses a database a running rackboot holds, and an
// inventory (a database or a key) unless force.
func checkRestoreTarget(dbPath, keyPath string, force bool) error {
	_, dbErr := os.Stat(dbPath)
	_, keyErr := os.Stat(keyPath)
	if dbErr == nil {
		b, err := bolt.Open(dbPath, 0o600, &bolt.Options{ReadOnly: true, Timeout: 200 * time.Millisecond})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return fmt.Errorf("restore into %s: %w: a rackboot is serving from it; stop it first (systemctl stop rackboot)", filepath.Dir(dbPath), ErrLocked)
		}
		if err == nil {
			b.Close()
		}
	}
	if (dbErr == nil || keyErr == nil) && !force {
		return fmt.Errorf("restore into %s: %w: pass --force to replace it (it is lost unless you backed it up)", filepath.Dir(dbPath), ErrNotEmpty)
	}
	for _, err := range []error{dbErr, keyErr} {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	return nil
}

// CheckFile checks the database file at path without changing it: every
// page (bbolt's consistency check), a schema this rackboot knows, and,
// when key is not nil, that the key opens the secrets sealed in it.
func CheckFile(path string, key []byte) (err error) {
	b, err := openBolt(path, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer b.Close()
	return b.View(func(tx *bolt.Tx) error {
		var bad []error
		for err := range tx.Check() { // drained whole: its goroutine reads tx
			bad = append(bad, err)
		}
		if len(bad) > 0 {
			return fmt.Errorf("%w: %v", ErrCorrupt, errors.Join(bad...))
		}
		v, err := schemaOf(tx)
		if err != nil {
			return err
		}
		if v > SchemaVersion {
			return &SchemaError{Path: path, File: v, Binary: SchemaVersion}
		}
		if key == nil || tx.Bucket(bucketHosts) == nil {
			return nil
		}
		s, err := newSealer(key)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketHosts).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("%w: host %s: %v", ErrCorrupt, k, err)
			}
			if r.BMCPasswordSealed != nil {
				if _, err := s.open(r.BMCPasswordSealed, r.MAC); err != nil {
					return fmt.Errorf("the sealing key does not open host %s's BMC password: it is not this database's key", r.MAC)
				}
			}
			return nil
		})
	})
}
