package inventory

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout of the database this rackboot writes. Open
// migrates a file of an older layout to it, in one transaction, and
// refuses a file of a newer one (ErrSchemaNewer): an older rackboot would
// misread it and could lose what it does not know.
//
//   - 1: the releases before the provisioning-core redesign. Hosts have no
//     credentials record; agent token generations live in their own
//     bucket (agent_tokens); deploy progress is logged as events
//     ("deploy-progress"); frequent events share the host's one log.
//   - 2: hosts carry Credentials (UID, generations); progress is data on
//     the host (Host.Progress); frequent events (Event.Chatter) have their
//     own bucket (events-chatter); the version is recorded in meta.
const SchemaVersion = 2

// ErrSchemaNewer is a database written by a newer rackboot than this one.
var ErrSchemaNewer = errors.New("database written by a newer rackboot")

// SchemaError names the schema a database has and the one this rackboot
// knows; it wraps ErrSchemaNewer.
type SchemaError struct {
	Path         string
	File, Binary uint64
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%s has schema version %d; this rackboot knows schema versions up to %d: run the rackboot that wrote it (or a newer one), or restore a backup made by this version",
		e.Path, e.File, e.Binary)
}

// Unwrap makes errors.Is(err, ErrSchemaNewer) true.
func (e *SchemaError) Unwrap() error { return ErrSchemaNewer }

var (
	bucketMeta = []byte("meta")
	keySchema  = []byte("schema")
	// bucketAgentTokensV1 is schema 1's bucket of agent token generations
	// (MAC → uint64), folded into Credentials.AgentGen by migrate1to2.
	bucketAgentTokensV1 = []byte("agent_tokens")
)

// eventDeployProgressV1 is the type schema 1 logged deploy progress as.
const eventDeployProgressV1 = "deploy-progress"

// schemaOf reads the schema version of the database in tx. A file without
// a recorded version is a new one (no buckets: 0), one written by the
// redesign before it recorded versions (an events-chatter bucket: 2), or
// a schema 1 file.
func schemaOf(tx *bolt.Tx) (uint64, error) {
	if m := tx.Bucket(bucketMeta); m != nil {
		v := m.Get(keySchema)
		if len(v) != 8 {
			return 0, fmt.Errorf("%w: meta/schema is %d bytes, want 8", ErrCorrupt, len(v))
		}
		return binary.BigEndian.Uint64(v), nil
	}
	switch {
	case tx.Bucket(bucketChatter) != nil:
		return 2, nil
	case tx.Bucket(bucketHosts) != nil:
		return 1, nil
	}
	return 0, nil
}

// migrations[v] moves a database from schema v to v+1, inside one write
// transaction.
var migrations = map[uint64]func(tx *bolt.Tx, db *DB) error{
	1: migrate1to2,
}

// upgradeSchema brings the database to SchemaVersion in one transaction
// (so a failed migration leaves the file as it was), or refuses a newer
// one. It runs before anything else reads or writes the file.
func (db *DB) upgradeSchema() error {
	var from uint64
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		v, err := schemaOf(tx)
		if err != nil {
			return err
		}
		from = v
		if v > SchemaVersion {
			return &SchemaError{Path: db.bolt.Path(), File: v, Binary: SchemaVersion}
		}
		if v == SchemaVersion {
			if tx.Bucket(bucketMeta) == nil {
				return setSchema(tx, v) // the redesign, before versions were recorded
			}
			return nil
		}
		for ; v > 0 && v < SchemaVersion; v++ {
			if err := migrations[v](tx, db); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", v, v+1, err)
			}
		}
		return setSchema(tx, SchemaVersion)
	})
	if err != nil {
		return err
	}
	if from > 0 && from < SchemaVersion {
		db.log.Info("inventory migrated", "from_schema", from, "to_schema", SchemaVersion, "path", db.bolt.Path())
	}
	return nil
}

func setSchema(tx *bolt.Tx, v uint64) error {
	m, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	return m.Put(keySchema, binary.BigEndian.AppendUint64(nil, v))
}

// migrate1to2: every host gets a UID (tokens are bound to it) and its
// agent token generation from agent_tokens, which goes; its last
// deploy-progress event becomes Host.Progress and those events go; its
// frequent events move to events-chatter under the same sequence numbers.
// Agent tokens minted by schema 1 are of another format and are refused
// from now on; a deploy left running has no sealed seed, and its installer
// is told to have it requested again.
func migrate1to2(tx *bolt.Tx, db *DB) error {
	if _, err := tx.CreateBucketIfNotExists(bucketChatter); err != nil {
		return err
	}
	gens := tx.Bucket(bucketAgentTokensV1)
	hosts := tx.Bucket(bucketHosts)
	var recs []record
	if err := hosts.ForEach(func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("host %s: %w", k, err)
		}
		recs = append(recs, r)
		return nil
	}); err != nil {
		return err
	}
	for i := range recs {
		r := &recs[i]
		if r.Credentials.UID == "" {
			r.Credentials.UID = newUID()
		}
		if gens != nil {
			if g := gens.Get([]byte(r.MAC)); len(g) == 8 {
				r.Credentials.AgentGen = max(r.Credentials.AgentGen, binary.BigEndian.Uint64(g))
			}
		}
		progress, err := splitEventsV1(tx, r.MAC)
		if err != nil {
			return fmt.Errorf("events of %s: %w", r.MAC, err)
		}
		if progress != nil && r.Progress == nil {
			r.Progress = progress
		}
		if err := putRecord(tx, r); err != nil {
			return err
		}
	}
	if gens != nil {
		return tx.DeleteBucket(bucketAgentTokensV1)
	}
	return nil
}

// splitEventsV1 moves mac's frequent events to their own bucket and drops
// its deploy-progress events, returning the last one as a DeployProgress.
func splitEventsV1(tx *bolt.Tx, mac string) (*DeployProgress, error) {
	main := tx.Bucket(bucketEvents).Bucket([]byte(mac))
	if main == nil {
		return nil, nil
	}
	type kv struct{ k, v []byte }
	var move, drop []kv
	var last *Event
	if err := main.ForEach(func(k, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("event %x: %w", k, err)
		}
		switch {
		case e.Type == eventDeployProgressV1:
			drop = append(drop, kv{k, v})
			last = &e
		case e.Chatter():
			move = append(move, kv{k, v})
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(move) > 0 {
		chat, err := tx.Bucket(bucketChatter).CreateBucketIfNotExists([]byte(mac))
		if err != nil {
			return nil, err
		}
		for _, e := range move {
			if err := chat.Put(e.k, e.v); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range append(move, drop...) {
		if err := main.Delete(e.k); err != nil {
			return nil, err
		}
	}
	if last == nil {
		return nil, nil
	}
	return progressV1(last), nil
}

// progressV1 reads schema 1's progress event, whose cause reads "written N
// of M bytes (R MB/s)"; nil when it does not.
func progressV1(e *Event) *DeployProgress {
	var p DeployProgress
	var mbps float64 // schema 1 logged the rate in MB/s
	if _, err := fmt.Sscanf(strings.TrimSpace(e.Cause), "written %d of %d bytes (%f MB/s)", &p.Written, &p.Total, &mbps); err != nil || p.Total <= 0 {
		return nil
	}
	p.RateBPS = int64(mbps * 1e6)
	p.UpdatedAt = e.Time
	return &p
}
