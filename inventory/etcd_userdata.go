package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The user-data parts live under userdata/NAME, one key each; a part's
// Version is its key's mod revision, as an agent config's is. They are
// read from etcd, not from the index: only a deploy and the API read them.

func (s *Etcd) userDataKey(name string) string { return s.key("userdata/" + name) }

func decodeEtcdUserData(kv *mvccpb.KeyValue) (UserData, error) {
	var u UserData
	if err := json.Unmarshal(kv.Value, &u); err != nil {
		return u, fmt.Errorf("decode user-data %s: %w", kv.Key, err)
	}
	u.Version = uint64(kv.ModRevision)
	return u, nil
}

// readUserData returns the stored part (nil when there is none) and its
// mod revision.
func (s *Etcd) readUserData(ctx context.Context, name string) (*UserData, int64, error) {
	resp, err := s.cli.Get(ctx, s.userDataKey(name))
	if err != nil {
		return nil, 0, fmt.Errorf("user-data %s: %w", name, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	u, err := decodeEtcdUserData(resp.Kvs[0])
	return &u, resp.Kvs[0].ModRevision, err
}

// UserData implements Store.
func (s *Etcd) UserData(ctx context.Context, name string) (UserData, error) {
	u, _, err := s.readUserData(ctx, name)
	if err != nil {
		return UserData{}, err
	}
	if u == nil {
		return UserData{}, fmt.Errorf("user-data %s: %w", name, ErrNotFound)
	}
	return *u, nil
}

// UserDatas implements Store: every part, ordered by name (etcd returns
// a range in key order).
func (s *Etcd) UserDatas(ctx context.Context) ([]UserData, error) {
	return listEtcd(ctx, s, "userdata/", "user-data", decodeEtcdUserData)
}

// UserDataFor implements Store.
func (s *Etcd) UserDataFor(ctx context.Context, labels map[string]string) ([]UserData, error) {
	all, err := s.UserDatas(ctx)
	if err != nil {
		return nil, err
	}
	return selected(all, labels), nil
}

// PutUserData implements Store: one transaction guarded by the mod
// revision of the part it read. Storing what is stored changes nothing.
func (s *Etcd) PutUserData(ctx context.Context, u UserData, version uint64, actor string) (UserData, bool, error) {
	if err := u.Validate(); err != nil {
		return UserData{}, false, err
	}
	u.Selector = maps.Clone(u.Selector)
	var stored UserData
	var created bool
	err := retry(ctx, "put user-data "+u.Name, func() (bool, error) {
		old, rev, err := s.readUserData(ctx, u.Name)
		if err != nil {
			return false, err
		}
		if version != 0 && (old == nil || old.Version != version) {
			return false, fmt.Errorf("user-data %s: %w: request was made against version %d", u.Name, ErrConflict, version)
		}
		if old != nil && old.Body == u.Body && maps.Equal(old.Selector, u.Selector) {
			stored = *old
			return false, errUnchanged
		}
		next := u
		now := s.now()
		next.Version, next.CreatedAt, next.UpdatedAt = 0, now, now
		if old != nil {
			next.CreatedAt = old.CreatedAt
		}
		v, err := json.Marshal(next)
		if err != nil {
			return false, fmt.Errorf("encode user-data %s: %w", u.Name, err)
		}
		resp, ok, err := s.commit(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.userDataKey(u.Name)), "=", rev)},
			[]clientv3.Op{clientv3.OpPut(s.userDataKey(u.Name), string(v))}, nil)
		if ok {
			next.Version = uint64(resp.Header.Revision)
			stored, created = next, old == nil
		}
		return ok, err
	})
	if errors.Is(err, errUnchanged) {
		return stored, false, nil
	}
	if err != nil {
		return UserData{}, false, err
	}
	s.log.Info("user-data stored", "name", stored.Name, "version", stored.Version, "actor", actor)
	return stored, created, nil
}

// DeleteUserData implements Store; seeds rendered before keep the part.
func (s *Etcd) DeleteUserData(ctx context.Context, name, actor string) error {
	err := retry(ctx, "delete user-data "+name, func() (bool, error) {
		old, rev, err := s.readUserData(ctx, name)
		if err != nil || old == nil {
			return false, cmpErr(err, fmt.Errorf("user-data %s: %w", name, ErrNotFound))
		}
		_, ok, err := s.commit(ctx, []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(s.userDataKey(name)), "=", rev)},
			[]clientv3.Op{clientv3.OpDelete(s.userDataKey(name))}, nil)
		return ok, err
	})
	if err == nil {
		s.log.Info("user-data removed", "name", name, "actor", actor)
	}
	return err
}
