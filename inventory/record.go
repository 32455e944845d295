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

// appendEvent writes e to the host's log, numbered from the host's one
// sequence, into its class's bucket (Event.Chatter), and trims that class
// to retention events.
func appendEvent(tx *bolt.Tx, mac string, e *Event, retention int) error {
	main, err := tx.Bucket(bucketEvents).CreateBucketIfNotExists([]byte(mac))
	if err != nil {
		return err
	}
	seq, err := main.NextSequence()
	if err != nil {
		return err
	}
	e.Seq = seq
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b := main
	if e.Chatter() {
		if b, err = tx.Bucket(bucketChatter).CreateBucketIfNotExists([]byte(mac)); err != nil {
			return err
		}
	}
	if err := b.Put(seqKey(seq), v); err != nil {
		return err
	}
	return trim(b, retention)
}

// trim deletes the oldest events of b beyond keep: it walks back from the
// newest (the bucket's stats do not count what this transaction added).
func trim(b *bolt.Bucket, keep int) error {
	c := b.Cursor()
	k, _ := c.Last()
	for i := 1; i < keep && k != nil; i++ {
		k, _ = c.Prev()
	}
	var old [][]byte
	for k, _ = c.Prev(); k != nil; k, _ = c.Prev() {
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
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
