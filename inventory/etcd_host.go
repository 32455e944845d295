package inventory

import (
	"context"
	"fmt"

	"github.com/rackboot/rackboot/machineapi"
)

// UpdateHost changes fields of a host and logs ev: ModifyHost without a
// state change.
func (s *Etcd) UpdateHost(ctx context.Context, mac string, version uint64, fn func(*Host) error, ev Event) (Host, error) {
	return s.ModifyHost(ctx, mac, version, func(h *Host) (Edit, error) {
		return Edit{Type: ev.Type, Cause: ev.Cause, Actor: ev.Actor}, fn(h)
	})
}

// Transition moves a host to state to if the lifecycle allows it.
func (s *Etcd) Transition(ctx context.Context, mac string, to State, cause, actor string) (Host, error) {
	if _, err := ParseState(string(to)); err != nil {
		return Host{}, err
	}
	return s.ModifyHost(ctx, mac, 0, func(*Host) (Edit, error) {
		return Edit{To: to, Cause: cause, Actor: actor}, nil
	})
}

// BMCPassword implements Store.
func (s *Etcd) BMCPassword(ctx context.Context, mac string) (string, error) {
	hr, err := s.readHost(ctx, mac)
	if err != nil || !hr.found {
		return "", cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrNotFound))
	}
	if hr.rec.BMCPasswordSealed == nil {
		return "", nil
	}
	return s.seal.open(hr.rec.BMCPasswordSealed, mac)
}

// DeploySeed implements Store.
func (s *Etcd) DeploySeed(ctx context.Context, mac string) (machineapi.Seed, error) {
	hr, err := s.readHost(ctx, mac)
	if err != nil || !hr.found {
		return machineapi.Seed{}, cmpErr(err, fmt.Errorf("host %s: %w", mac, ErrNotFound))
	}
	return s.seal.openSeed(&hr.rec)
}
