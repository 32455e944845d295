package resources

import (
	"context"
	"fmt"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
)

// dbusSystemd is Systemd over the system bus, through go-systemd.
type dbusSystemd struct {
	conn *sddbus.Conn
}

// DialSystemd connects to systemd on the system D-Bus.
func DialSystemd(ctx context.Context) (Systemd, error) {
	conn, err := sddbus.NewWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to systemd: %w", err)
	}
	return &dbusSystemd{conn: conn}, nil
}

func (d *dbusSystemd) Close() { d.conn.Close() }

func (d *dbusSystemd) ActiveState(ctx context.Context, unit string) (string, error) {
	return d.unitProperty(ctx, unit, "ActiveState")
}

func (d *dbusSystemd) UnitFileState(ctx context.Context, unit string) (string, error) {
	return d.unitProperty(ctx, unit, "UnitFileState")
}

func (d *dbusSystemd) unitProperty(ctx context.Context, unit, name string) (string, error) {
	p, err := d.conn.GetUnitPropertyContext(ctx, unit, name)
	if err != nil {
		return "", err
	}
	s, ok := p.Value.Value().(string)
	if !ok {
		return "", fmt.Errorf("property %s of %s is %T, not a string", name, unit, p.Value.Value())
	}
	return s, nil
}

// jobFunc is the shape of go-systemd's job-starting methods.
type jobFunc func(ctx context.Context, name, mode string, ch chan<- string) (int, error)

// job starts a systemd job and waits for its result, which systemd reports
// as "done" on success.
func (d *dbusSystemd) job(ctx context.Context, fn jobFunc, unit string) error {
	ch := make(chan string, 1)
	if _, err := fn(ctx, unit, "replace", ch); err != nil {
		return err
	}
	select {
	case res := <-ch:
		if res != "done" {
			return fmt.Errorf("job for %s: %s", unit, res)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *dbusSystemd) Start(ctx context.Context, unit string) error {
	return d.job(ctx, d.conn.StartUnitContext, unit)
}

func (d *dbusSystemd) Stop(ctx context.Context, unit string) error {
	return d.job(ctx, d.conn.StopUnitContext, unit)
}

func (d *dbusSystemd) Restart(ctx context.Context, unit string) error {
	return d.job(ctx, d.conn.RestartUnitContext, unit)
}

func (d *dbusSystemd) TryRestart(ctx context.Context, unit string) error {
	return d.job(ctx, d.conn.TryRestartUnitContext, unit)
}

func (d *dbusSystemd) Reload(ctx context.Context, unit string) error {
	return d.job(ctx, d.conn.ReloadUnitContext, unit)
}
