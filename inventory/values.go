package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rackboot/rackboot/machineapi"
	bolt "go.etcd.io/bbolt"
)

// PublishedValue is one key/value a host's agent published (an export
// resource) for other hosts' configs to read. A host keeps at most
// machineapi.MaxExportsPerHost of them; they go when the host is deleted.
type PublishedValue struct {
	MAC       string    `json:"mac"`
	Key       string    `json:"key"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// EventPublished is the type of the event logged on a host when it
// publishes a new value under a key.
const EventPublished = "published"

var (
	bucketValues = []byte("values")
	exportKeyRE  = regexp.MustCompile(machineapi.ExportKeyPattern)
)

// Validate checks the key's shape and that the value is one line of
// printable text of at most machineapi.MaxExportValueBytes: values are
// pasted into other hosts' configs, where a line break or a control
// character could change what those configs say.
func (v *PublishedValue) Validate() error {
	if !exportKeyRE.MatchString(v.Key) {
		return invalid("key", "%q must be 1-64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit", v.Key)
	}
	switch {
	case v.Value == "":
		return invalid("value", "empty")
	case len(v.Value) > machineapi.MaxExportValueBytes:
		return invalid("value", "%d bytes, more than %d", len(v.Value), machineapi.MaxExportValueBytes)
	case !utf8.ValidString(v.Value):
		return invalid("value", "not UTF-8")
	}
	if i := strings.IndexFunc(v.Value, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(v.Value[i:])
		return invalid("value", "holds %q at byte %d: a value is one line of printable text", r, i)
	}
	return nil
}

// PublishValue stores v under its host and key, replacing what was there,
// in one transaction that logs a published event on the host; the change
// shows on the feed with Change.Value set. It reports whether anything
// changed: publishing the value already stored stores nothing.
func (db *DB) PublishValue(ctx context.Context, v PublishedValue, actor string) (PublishedValue, bool, error) {
	if err := v.Validate(); err != nil {
		return PublishedValue{}, false, err
	}
	var stored PublishedValue
	_, err := db.write(ctx, func(tx *bolt.Tx) (Change, error) {
		r, err := getRecord(tx, v.MAC)
		if err != nil {
			return Change{}, err
		}
		b, err := valuesOf(tx, v.MAC, true)
		if err != nil {
			return Change{}, err
		}
		if old, ok, err := getValue(b, v.MAC, v.Key); err != nil {
			return Change{}, err
		} else if ok && old.Value == v.Value {
			stored = old
			return Change{}, errUnchanged
		} else if !ok && b.Stats().KeyN >= machineapi.MaxExportsPerHost {
			return Change{}, invalid("key", "host %s already publishes %d values, the most a host may", v.MAC, machineapi.MaxExportsPerHost)
		}
		stored = v
		stored.UpdatedAt = db.now()
		enc, err := json.Marshal(stored)
		if err != nil {
			return Change{}, fmt.Errorf("encode value %s of %s: %w", v.Key, v.MAC, err)
		}
		if err := b.Put([]byte(v.Key), enc); err != nil {
			return Change{}, err
		}
		e := Event{Time: stored.UpdatedAt, Type: EventPublished, Cause: describeValue(&stored), Actor: actor}
		pv := stored
		return Change{Host: r.Host, Event: e, Revision: r.Version, Value: &pv}, appendEvent(tx, v.MAC, &e, db.retention())
	})
	if errors.Is(err, errUnchanged) {
		return stored, false, nil
	}
	if err != nil {
		return PublishedValue{}, false, err
	}
	return stored, true, nil
}

// describeValue is a publication as one line of the host's event log: the
// key and the start of the value (values are meant to be read by other
// hosts, so they are not secret).
func describeValue(v *PublishedValue) string {
	s := v.Value
	if len(s) > 40 {
		s = strings.ToValidUTF8(s[:40], "") + "…"
	}
	return fmt.Sprintf("%s = %s", v.Key, s)
}

// PublishedValues returns the values host mac published, ordered by key;
// with mac "", every host's, ordered by MAC and key.
func (db *DB) PublishedValues(_ context.Context, mac string) ([]PublishedValue, error) {
	out := []PublishedValue{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketValues)
		if root == nil {
			return nil
		}
		each := func(m []byte) error {
			b := root.Bucket(m)
			if b == nil {
				return nil
			}
			return b.ForEach(func(k, enc []byte) error {
				v, err := decodeValue(m, k, enc)
				out = append(out, v)
				return err
			})
		}
		if mac != "" {
			return each([]byte(mac))
		}
		return root.ForEachBucket(each)
	})
	return out, err
}

// valuesOf returns host mac's bucket of values, creating it if asked.
func valuesOf(tx *bolt.Tx, mac string, create bool) (*bolt.Bucket, error) {
	if !create {
		if root := tx.Bucket(bucketValues); root != nil {
			return root.Bucket([]byte(mac)), nil
		}
		return nil, nil
	}
	root, err := tx.CreateBucketIfNotExists(bucketValues)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists([]byte(mac))
}

func getValue(b *bolt.Bucket, mac, key string) (PublishedValue, bool, error) {
	enc := b.Get([]byte(key))
	if enc == nil {
		return PublishedValue{}, false, nil
	}
	v, err := decodeValue([]byte(mac), []byte(key), enc)
	return v, err == nil, err
}

func decodeValue(mac, key, enc []byte) (PublishedValue, error) {
	var v PublishedValue
	if err := json.Unmarshal(enc, &v); err != nil {
		return v, fmt.Errorf("decode value %s of %s: %w", key, mac, err)
	}
	return v, nil
}

// deleteValues drops host mac's values, with the host.
func deleteValues(tx *bolt.Tx, mac string) error {
	root := tx.Bucket(bucketValues)
	if root == nil || root.Bucket([]byte(mac)) == nil {
		return nil
	}
	return root.DeleteBucket([]byte(mac))
}
