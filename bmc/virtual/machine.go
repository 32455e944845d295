package virtual

import (
	"context"
	"sync"
	"time"
)

// Machine is what the virtual BMC switches on and off. QEMU is the real
// one; Simulated is an in-memory stand-in for load tests where 50 QEMUs
// would measure the CPU rather than the BMC path.
type Machine interface {
	// Powered reports whether the machine is on. It must not block behind
	// a power action in progress.
	Powered() bool
	// PowerOn starts the machine, booting from boot; it returns once the
	// machine runs. It is a no-op when the machine is on.
	PowerOn(ctx context.Context, boot Boot) error
	// PowerOff removes power at once (a 4-second press of the button).
	PowerOff(ctx context.Context) error
	// Shutdown asks the guest to power off (ACPI); it does not wait.
	Shutdown(ctx context.Context) error
	// Reset is a warm reset of a running machine.
	Reset(ctx context.Context) error
	// NMI injects a non-maskable interrupt.
	NMI(ctx context.Context) error
}

// Simulated is a Machine that only keeps a flag. Delay, if set, is how
// long a power-on takes, to model a machine that is slow to come up.
type Simulated struct {
	Delay time.Duration

	mu       sync.Mutex
	on       bool
	lastBoot Boot
	starts   int
}

// Powered reports the flag.
func (m *Simulated) Powered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.on
}

// PowerOn sets the flag after Delay.
func (m *Simulated) PowerOn(ctx context.Context, boot Boot) error {
	if m.Delay > 0 {
		t := time.NewTimer(m.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on {
		m.on, m.lastBoot = true, boot
		m.starts++
	}
	return nil
}

// PowerOff clears the flag.
func (m *Simulated) PowerOff(context.Context) error { m.set(false); return nil }

// Shutdown clears the flag, as a cooperative guest would.
func (m *Simulated) Shutdown(context.Context) error { m.set(false); return nil }

// Reset does nothing visible.
func (m *Simulated) Reset(context.Context) error { return nil }

// NMI does nothing visible.
func (m *Simulated) NMI(context.Context) error { return nil }

// Starts returns how many times the machine was powered on, and the boot
// device of the last start.
func (m *Simulated) Starts() (int, Boot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.starts, m.lastBoot
}

func (m *Simulated) set(on bool) {
	m.mu.Lock()
	m.on = on
	m.mu.Unlock()
}
