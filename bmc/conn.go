package bmc

import (
	"context"
	"fmt"
)

// conn is an open session inside an operation. Every command waits for
// the BMC's minimum gap first.
type conn struct {
	s    session
	slot *bmcSlot
	cfg  *Config
}

func (c *conn) command(ctx context.Context, name string, f func() error) error {
	if err := c.slot.pace(ctx, c.cfg.MinGap); err != nil {
		return err
	}
	defer c.slot.done()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (c *conn) status(ctx context.Context) (PowerState, error) {
	var raw string
	err := c.command(ctx, "get power state", func() (err error) {
		raw, err = c.s.PowerStateGet(ctx)
		return err
	})
	return parsePowerState(raw), err
}

// power sends a bmclib power action: on, off, soft, reset. Its boolean
// answer is ignored: the gofish provider returns false for a successful
// soft off, and the state is confirmed by polling anyway.
func (c *conn) power(ctx context.Context, action string) error {
	return c.command(ctx, "power "+action, func() error {
		_, err := c.s.PowerSet(ctx, action)
		return err
	})
}

func (c *conn) boot(ctx context.Context, dev BootDevice, persistent, uefi bool) error {
	return c.command(ctx, "set boot device "+string(dev), func() error {
		_, err := c.s.BootDeviceSet(ctx, string(dev), persistent, uefi)
		return err
	})
}

// confirm polls until the BMC reports want, or ctx ends.
func (c *conn) confirm(ctx context.Context, want PowerState) error {
	last := PowerUnknown
	for {
		if err := sleep(ctx, c.cfg.ConfirmInterval); err != nil {
			return fmt.Errorf("%w: power still %s, waiting for %s", ErrTimeout, last, want)
		}
		st, err := c.status(ctx)
		if err != nil {
			return err
		}
		if st == want {
			return nil
		}
		last = st
	}
}
