package inventory

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// record is a host as stored: the Host plus its sealed BMC password, which
// never travels in a Host value.
type record struct {
	Host
	BMCPasswordSealed []byte `json:"bmc_password_sealed,omitempty"`
	SeedSealed        []byte `json:"seed_sealed,omitempty"`
}

func decodeRecord(v []byte) (record, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decode host record: %w", err)
	}
	return r, nil
}

func getRecord(tx *bolt.Tx, mac string) (record, error) {
	v := tx.Bucket(bucketHosts).Get([]byte(mac))
	if v == nil {
		return record{}, fmt.Errorf("host %s: %w", mac, ErrNotFound)
	}
	return decodeRecord(v)
}

// putRecord stores r under a fresh store-wide revision, which becomes the
// host's Version. Revisions are global so the index can order changes that
// committed in one batch.
func putRecord(tx *bolt.Tx, r *record) error {
	b := tx.Bucket(bucketHosts)
	rev, err := b.NextSequence()
	if err != nil {
		return err
	}
	r.Version = rev
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode host %s: %w", r.MAC, err)
	}
	return b.Put([]byte(r.MAC), v)
}

// appendEvent writes e to the host's log and trims the log to keep at most
// retention events: each append deletes the one that fell off the end.
func appendEvent(tx *bolt.Tx, mac string, e *Event, retention int) error {
	b, err := tx.Bucket(bucketEvents).CreateBucketIfNotExists([]byte(mac))
	if err != nil {
		return err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := b.Put(seqKey(seq), v); err != nil {
		return err
	}
	if seq > uint64(retention) {
		return b.Delete(seqKey(seq - uint64(retention)))
	}
	return nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// newUID is a host record's random identity (Credentials.UID).
func newUID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
