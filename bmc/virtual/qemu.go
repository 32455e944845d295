package virtual

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// QEMUConfig says how to run the VM behind a virtual BMC.
type QEMUConfig struct {
	// Argv is the QEMU command line, binary first, without -qmp and -boot
	// (the machine adds both).
	Argv []string
	// QMPSocket is the unix socket path QEMU listens on for QMP.
	QMPSocket string
	// StartTimeout bounds a power-on until QMP answers; default 15s.
	StartTimeout time.Duration
	// StopTimeout bounds a power-off before QEMU is killed; default 10s.
	StopTimeout time.Duration
	// Logger receives QEMU's lifecycle and events; nil is silent.
	Logger *slog.Logger
}

// QEMU is a Machine that is on while its QEMU process runs: power-on
// starts the process, power-off asks it to quit over QMP.
type QEMU struct {
	cfg  QEMUConfig
	opMu sync.Mutex // one power action at a time

	mu  sync.Mutex
	run *qemuRun // nil when never started
}

// qemuRun is one QEMU process from start to exit.
type qemuRun struct {
	cmd    *exec.Cmd
	qmp    *QMP
	output *tail
	exited chan struct{} // closed once the process has been reaped
}

// NewQEMU returns a powered-off QEMU machine.
func NewQEMU(cfg QEMUConfig) (*QEMU, error) {
	if len(cfg.Argv) == 0 {
		return nil, errors.New("qemu: empty argv")
	}
	if cfg.QMPSocket == "" {
		return nil, errors.New("qemu: no QMP socket path")
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 15 * time.Second
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &QEMU{cfg: cfg}, nil
}

// Powered reports whether the QEMU process is running.
func (m *QEMU) Powered() bool {
	r := m.current()
	return r != nil && !r.done()
}

func (m *QEMU) current() *qemuRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.run
}

func (r *qemuRun) done() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// PowerOn starts QEMU and returns once its QMP socket answers.
func (m *QEMU) PowerOn(ctx context.Context, boot Boot) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.Powered() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.StartTimeout)
	defer cancel()
	r, err := m.start(boot)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.run = r
	m.mu.Unlock()
	if err := r.connect(ctx, m.cfg.QMPSocket); err != nil {
		r.kill()
		return fmt.Errorf("qemu power on: %w", err)
	}
	go m.logEvents(r.qmp)
	m.cfg.Logger.Info("qemu started", "pid", r.cmd.Process.Pid, "boot", boot.Device)
	return nil
}

func (m *QEMU) start(boot Boot) (*qemuRun, error) {
	os.Remove(m.cfg.QMPSocket) // a stale socket from a killed run would refuse connections
	args := append([]string{}, m.cfg.Argv[1:]...)
	args = append(args, "-qmp", "unix:"+m.cfg.QMPSocket+",server=on,wait=off")
	args = append(args, boot.QEMUArgs()...)
	r := &qemuRun{cmd: exec.Command(m.cfg.Argv[0], args...), output: &tail{}, exited: make(chan struct{})}
	r.cmd.Stdout, r.cmd.Stderr = r.output, r.output
	r.cmd.SysProcAttr = childAttr()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu power on: %w", err)
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	return r, nil
}

// connect dials QMP until QEMU has created its socket, QEMU exits, or ctx ends.
func (r *qemuRun) connect(ctx context.Context, path string) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		q, err := DialQMP(ctx, path)
		if err == nil {
			r.qmp = q
			return nil
		}
		select {
		case <-r.exited:
			return fmt.Errorf("qemu exited (%v): %s", r.cmd.ProcessState, r.output.String())
		case <-ctx.Done():
			return fmt.Errorf("qmp did not answer: %w (last: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// logEvents ends when the QMP connection closes, which happens when QEMU
// exits or the run is torn down.
func (m *QEMU) logEvents(q *QMP) {
	for ev := range q.Events() {
		m.cfg.Logger.Info("qemu event", "event", ev.Name, "data", string(ev.Data))
	}
}

// PowerOff sends QMP "quit" and waits for the process to exit, killing it
// after StopTimeout.
func (m *QEMU) PowerOff(ctx context.Context) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	r := m.current()
	if r == nil || r.done() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.StopTimeout)
	defer cancel()
	if _, err := r.qmp.Execute(ctx, "quit", nil); err != nil && !errors.Is(err, ErrQMPClosed) {
		m.cfg.Logger.Warn("qemu quit failed, killing", "err", err)
	}
	select {
	case <-r.exited:
	case <-ctx.Done():
		r.kill()
	}
	r.qmp.Close()
	return nil
}

// kill ends the process and waits until it has been reaped.
func (r *qemuRun) kill() {
	r.cmd.Process.Kill()
	<-r.exited
	if r.qmp != nil {
		r.qmp.Close()
	}
}

// Shutdown sends the ACPI power button; a guest without an OS ignores it.
func (m *QEMU) Shutdown(ctx context.Context) error { return m.exec(ctx, "system_powerdown") }

// Reset is QMP system_reset.
func (m *QEMU) Reset(ctx context.Context) error { return m.exec(ctx, "system_reset") }

// NMI is QMP inject-nmi.
func (m *QEMU) NMI(ctx context.Context) error { return m.exec(ctx, "inject-nmi") }

func (m *QEMU) exec(ctx context.Context, command string) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	r := m.current()
	if r == nil || r.done() {
		return fmt.Errorf("qemu %s: %w", command, ErrPoweredOff)
	}
	if _, err := r.qmp.Execute(ctx, command, nil); err != nil {
		return fmt.Errorf("qemu %s: %w", command, err)
	}
	return nil
}

// Close powers the machine off; the virtual BMC calls it when it stops.
func (m *QEMU) Close() error { return m.PowerOff(context.Background()) }

// ErrPoweredOff is returned for an action that needs a running machine.
var ErrPoweredOff = errors.New("machine is powered off")
