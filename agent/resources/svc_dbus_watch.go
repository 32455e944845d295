package resources

import (
	"context"
	"fmt"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

// SetEnabled enables or disables the unit file, then reloads systemd so
// the change takes effect.
func (d *dbusSystemd) SetEnabled(ctx context.Context, unit string, enabled bool) error {
	var err error
	if enabled {
		_, _, err = d.conn.EnableUnitFilesContext(ctx, []string{unit}, false, true)
	} else {
		_, err = d.conn.DisableUnitFilesContext(ctx, []string{unit}, false)
	}
	if err != nil {
		return err
	}
	return d.conn.ReloadContext(ctx)
}

// Subscribe forwards PropertiesChanged signals for unit. Signals for other
// units are dropped here; a full buffer only loses events already pending.
func (d *dbusSystemd) Subscribe(ctx context.Context, unit string, changed chan<- struct{}) error {
	if err := d.conn.Subscribe(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	updates := make(chan *sddbus.PropertiesUpdate, 64)
	errs := make(chan error, 1)
	d.conn.SetPropertiesSubscriber(updates, errs)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-errs:
			notify(changed) // updates were dropped: check again to be safe
		case u := <-updates:
			if u.UnitName == unit {
				notify(changed)
			}
		}
	}
}
