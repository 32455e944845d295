package bmc

import (
	"context"
	"fmt"
)

// PowerOn powers the machine on and waits until the BMC reports it on.
func (c *Controller) PowerOn(ctx context.Context, t Target) error {
	return c.run(ctx, t, "power on", ensure(PowerOn))
}

// PowerOff cuts power at once and waits until the BMC reports off.
func (c *Controller) PowerOff(ctx context.Context, t Target) error {
	return c.run(ctx, t, "power off", ensure(PowerOff))
}

// Cycle powers off, waits until the BMC confirms off, then powers on and
// waits for on. It never relies on the BMC's own cycle, which on some
// BMCs hard-resets a running host or refuses a host that is off.
func (c *Controller) Cycle(ctx context.Context, t Target) error {
	return c.run(ctx, t, "power cycle", ensure(PowerOff), ensure(PowerOn))
}

// Status returns the power state the BMC reports.
func (c *Controller) Status(ctx context.Context, t Target) (PowerState, error) {
	st := PowerUnknown
	err := c.run(ctx, t, "power status", func(ctx context.Context, s *conn) (err error) {
		st, err = s.status(ctx)
		return err
	})
	return st, err
}

// SetBootDevice sets the next boot device, for one boot or for all
// (persistent), and reads the override back: a BMC that took the request
// and reports another override in force fails with ErrNotApplied (some
// vendors' Redfish drop one-time overrides). The boot server's answer
// still decides what a machine boots.
func (c *Controller) SetBootDevice(ctx context.Context, t Target, dev BootDevice, persistent bool) error {
	if dev != BootPXE && dev != BootDisk {
		return &Error{BMC: t.String(), Op: "set boot device", Err: fmt.Errorf("%w: unknown boot device %q", ErrRejected, dev)}
	}
	return c.run(ctx, t, "set boot device", func(ctx context.Context, s *conn) error {
		if err := s.boot(ctx, dev, persistent, t.UEFI); err != nil {
			return err
		}
		return s.checkBoot(ctx, dev, persistent)
	})
}

// ensure brings the machine to want unless it is there already, then
// confirms it by polling until the BMC reports want.
func ensure(want PowerState) step {
	action := map[PowerState]string{PowerOn: "on", PowerOff: "off"}[want]
	return func(ctx context.Context, s *conn) error {
		st, err := s.status(ctx)
		if err != nil || st == want {
			return err
		}
		if err := s.power(ctx, action); err != nil {
			return err
		}
		return s.confirm(ctx, want)
	}
}
