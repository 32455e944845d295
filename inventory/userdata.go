package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	bolt "go.etcd.io/bbolt"
)

// UserData is one operator-written cloud-init user-data part and the label
// selector that puts it into the seed of every host it selects at that
// host's next deploy. The inventory keeps the body as text; checking it is
// package seed's job, done by the API before it calls PutUserData.
//
// A seed holds every selecting part, ordered by name, then the part the
// deploy request itself carries. An empty selector selects no host.
type UserData struct {
	Name      string            `json:"name"`
	Selector  map[string]string `json:"selector"` // every k=v must match the host's labels
	Body      string            `json:"body"`
	Version   uint64            `json:"version"` // increases on every change
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// UserDataStore keeps the label-selected user-data parts.
type UserDataStore interface {
	UserData(ctx context.Context, name string) (UserData, error)
	UserDatas(ctx context.Context) ([]UserData, error)
	// UserDataFor returns the parts that select a host with these labels,
	// ordered by name.
	UserDataFor(ctx context.Context, labels map[string]string) ([]UserData, error)
	// PutUserData creates or replaces a part and reports whether it was
	// created; a non-zero version must equal the stored one (ErrConflict).
	PutUserData(ctx context.Context, u UserData, version uint64, actor string) (UserData, bool, error)
	DeleteUserData(ctx context.Context, name, actor string) error
}

// MaxUserDataBytes bounds one part's body.
const MaxUserDataBytes = 256 << 10

var bucketUserData = []byte("user_data")

// Selects reports whether the part goes into the seed of a host with these
// labels.
func (u *UserData) Selects(labels map[string]string) bool {
	c := AgentConfig{Selector: u.Selector}
	return c.Selects(labels)
}

// Validate checks the name, the selector and the body's size.
func (u *UserData) Validate() error {
	c := AgentConfig{Name: u.Name, Selector: u.Selector}
	if err := c.Validate(); err != nil {
		return err
	}
	if len(u.Body) > MaxUserDataBytes {
		return invalid("body", "%d bytes, more than %d", len(u.Body), MaxUserDataBytes)
	}
	return nil
}

// UserData returns the stored part with this name.
func (db *DB) UserData(_ context.Context, name string) (UserData, error) {
	var u UserData
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		u, err = getUserData(tx, name)
		return err
	})
	return u, err
}

// UserDatas returns every stored part, ordered by name.
func (db *DB) UserDatas(_ context.Context) ([]UserData, error) {
	out := []UserData{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketUserData)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var u UserData
			if err := json.Unmarshal(v, &u); err != nil {
				return fmt.Errorf("decode user-data %s: %w", k, err)
			}
			out = append(out, u)
			return nil
		})
	})
	return out, err
}

// UserDataFor implements UserDataStore.
func (db *DB) UserDataFor(ctx context.Context, labels map[string]string) ([]UserData, error) {
	all, err := db.UserDatas(ctx)
	return selected(all, labels), err
}

func getUserData(tx *bolt.Tx, name string) (UserData, error) {
	var v []byte
	if b := tx.Bucket(bucketUserData); b != nil {
		v = b.Get([]byte(name))
	}
	if v == nil {
		return UserData{}, fmt.Errorf("user-data %s: %w", name, ErrNotFound)
	}
	var u UserData
	if err := json.Unmarshal(v, &u); err != nil {
		return u, fmt.Errorf("decode user-data %s: %w", name, err)
	}
	return u, nil
}

// PutUserData implements UserDataStore. Storing what is stored already
// changes nothing.
func (db *DB) PutUserData(ctx context.Context, u UserData, version uint64, actor string) (UserData, bool, error) {
	if err := u.Validate(); err != nil {
		return UserData{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return UserData{}, false, err
	}
	u.Selector = maps.Clone(u.Selector)
	var stored UserData
	var created bool
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketUserData)
		if err != nil {
			return err
		}
		old, err := getUserData(tx, u.Name)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if version != 0 && (!exists || old.Version != version) {
			return fmt.Errorf("user-data %s: %w: request was made against version %d", u.Name, ErrConflict, version)
		}
		if exists && old.Body == u.Body && maps.Equal(old.Selector, u.Selector) {
			stored = old
			return nil
		}
		rev, err := b.NextSequence()
		if err != nil {
			return err
		}
		now := db.now()
		u.Version, u.CreatedAt, u.UpdatedAt = rev, now, now
		if exists {
			u.CreatedAt = old.CreatedAt
		}
		v, err := json.Marshal(u)
		if err != nil {
			return err
		}
		stored, created = u, !exists
		return b.Put([]byte(u.Name), v)
	})
	if err != nil {
		return UserData{}, false, err
	}
	db.log.Info("user-data stored", "name", stored.Name, "version", stored.Version, "actor", actor)
	return stored, created, nil
}

// DeleteUserData removes a part; seeds rendered before keep it.
func (db *DB) DeleteUserData(ctx context.Context, name, actor string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if _, err := getUserData(tx, name); err != nil {
			return err
		}
		return tx.Bucket(bucketUserData).Delete([]byte(name))
	})
	if err == nil {
		db.log.Info("user-data removed", "name", name, "actor", actor)
	}
	return err
}
