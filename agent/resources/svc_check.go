package resources

import (
	"context"
	"fmt"
)

// Watch subscribes to the unit's D-Bus property changes and polls for
// enablement, which comes with no reliable signal.
func (s *Svc) Watch(ctx context.Context, events chan<- struct{}) error {
	sd, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("svc watch: %w", err)
	}
	defer sd.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{}, 1)
	errc := make(chan error, 1)
	go func() { errc <- sd.Subscribe(ctx, s.unit(), changed) }()
	tick := tickC(svcTick)
	if !deliver(ctx, events) {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return fmt.Errorf("svc watch: %w", err)
		case <-changed:
		case <-tick:
		}
		if !deliver(ctx, events) {
			return nil
		}
	}
}

// CheckApply fixes enablement, then the running state.
func (s *Svc) CheckApply(ctx context.Context, apply bool) (bool, error) {
	sd, err := s.dial(ctx)
	if err != nil {
		return false, fmt.Errorf("svc: %w", err)
	}
	defer sd.Close()
	enabledOK, err := s.checkEnabled(ctx, sd, apply)
	if err != nil {
		return false, err
	}
	runningOK, err := s.checkRunning(ctx, sd, apply)
	if err != nil {
		return false, err
	}
	return enabledOK && runningOK, nil
}

func (s *Svc) checkEnabled(ctx context.Context, sd Systemd, apply bool) (bool, error) {
	if s.Enabled == nil {
		return true, nil
	}
	st, err := sd.UnitFileState(ctx, s.unit())
	if err != nil {
		return false, fmt.Errorf("%s: unit file state: %w", s.unit(), err)
	}
	if (st == "enabled" || st == "enabled-runtime") == *s.Enabled {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if err := sd.SetEnabled(ctx, s.unit(), *s.Enabled); err != nil {
		return false, fmt.Errorf("%s: enable=%v: %w", s.unit(), *s.Enabled, err)
	}
	return false, nil
}

func (s *Svc) checkRunning(ctx context.Context, sd Systemd, apply bool) (bool, error) {
	if s.State == "" {
		return true, nil
	}
	st, err := sd.ActiveState(ctx, s.unit())
	if err != nil {
		return false, fmt.Errorf("%s: active state: %w", s.unit(), err)
	}
	running := st == "active" || st == "reloading" || st == "activating"
	if running == (s.State == SvcRunning) {
		return true, nil
	}
	if !apply {
		return false, nil
	}
	if s.State == SvcRunning {
		err = sd.Start(ctx, s.unit())
	} else {
		err = sd.Stop(ctx, s.unit())
	}
	if err != nil {
		return false, fmt.Errorf("%s: %s: %w", s.unit(), s.State, err)
	}
	return false, nil
}

// Refresh restarts or reloads the unit. A unit meant to be stopped is not
// started by a refresh.
func (s *Svc) Refresh(ctx context.Context) error {
	if s.onRefresh() == RefreshNone || s.State == SvcStopped {
		return nil
	}
	sd, err := s.dial(ctx)
	if err != nil {
		return fmt.Errorf("svc: %w", err)
	}
	defer sd.Close()
	switch s.onRefresh() {
	case RefreshReload:
		err = sd.Reload(ctx, s.unit())
	case RefreshTryRestart:
		err = sd.TryRestart(ctx, s.unit())
	default:
		err = sd.Restart(ctx, s.unit())
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", s.unit(), s.onRefresh(), err)
	}
	return nil
}
