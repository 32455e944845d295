package installer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/rackboot/rackboot/machineapi"
)

// Retry pacing. A refused token or a rejected report will not fix itself
// quickly, so those retry slowly and leave the console readable; anything
// else (no route yet, appliance restarting) retries soon.
const (
	retrySoon        = 2 * time.Second
	retrySlow        = 30 * time.Second
	defaultPollEvery = 2 * time.Second
)

// Options configure one run of the installer.
type Options struct {
	// Root is the machine's root directory; "" means "/".
	Root string
	// Cmdline replaces Root/proc/cmdline when not empty (debugging, tests).
	Cmdline string
	// Machine makes the run set the machine up first: load the ramdisk's
	// modules and configure the boot NIC. Only right in the ramdisk.
	Machine bool
	// Log receives the installer's story; nil discards it.
	Log *slog.Logger
	// HTTP is the client for the appliance; nil means http.DefaultClient.
	HTTP *http.Client
	// PollEvery is the pause before the next poll of /machine/v1/next
	// after an error or an answer that did not wait that long (2 s).
	PollEvery time.Duration
	// Sleep waits d or until ctx ends; nil means a real timer. Tests
	// replace it to run retries instantly.
	Sleep func(ctx context.Context, d time.Duration) error
	// Reboot restarts the machine after a deploy; nil means a real reboot
	// when Machine is set (the ramdisk's PID 1) and none otherwise.
	Reboot func() error
}

func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PollEvery == 0 {
		o.PollEvery = defaultPollEvery
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Reboot == nil && o.Machine {
		o.Reboot = rebootMachine
	}
	return o
}

// Run is one life of the installer: read the command line, set the machine
// up if asked, gather and report facts until the appliance accepts them,
// then poll for the next action until ctx ends. It returns only on an error
// it cannot retry past, or when ctx ends.
func Run(ctx context.Context, o Options) error {
	o = o.withDefaults()
	cmd, err := readCmdline(o)
	if err != nil {
		return err
	}
	if o.Machine {
		if cmd.MAC, err = setUpMachine(ctx, o, cmd); err != nil {
			return err
		}
	}
	facts, err := Gather(o.Root)
	if err != nil {
		o.Log.Error("some facts missing", "err", err)
	}
	if cmd.MAC == "" && len(facts.NICs) > 0 {
		cmd.MAC = facts.NICs[0].MAC
	}
	o.Log.Info("facts gathered", "uuid", facts.UUID, "serial", facts.Serial, "cpus", facts.CPUs,
		"memory_bytes", facts.MemoryBytes, "disks", len(facts.Disks), "firmware", facts.Firmware, "secure_boot", facts.SecureBoot)
	cl := &Client{BaseURL: cmd.URL, MAC: cmd.MAC, HTTP: o.HTTP, Sleep: o.Sleep,
		OnResume: func(off int64, cause error) {
			o.Log.Warn("image download broke, resuming", "at_byte", off, "err", cause)
		}}
	if err := reportUntilAccepted(ctx, o, cl, cmd.Mode, facts); err != nil {
		return err
	}
	return poll(ctx, o, cl)
}

func readCmdline(o Options) (Cmdline, error) {
	s := o.Cmdline
	if s == "" {
		b, err := os.ReadFile(filepath.Join(o.Root, "proc/cmdline"))
		if err != nil {
			return Cmdline{}, fmt.Errorf("read cmdline: %w", err)
		}
		s = string(b)
	}
	return ParseCmdline(s)
}

// setUpMachine loads the drivers and brings up the boot NIC, retrying the
// network until it works: without it the installer has nothing to do.
func setUpMachine(ctx context.Context, o Options, cmd Cmdline) (string, error) {
	loadRamdiskModules(o)
	if err := MountEFIVars(o.Root); err != nil {
		o.Log.Error("EFI variables not readable: secure_boot will read false", "err", err)
	}
	for {
		mac, err := bringUpNetwork(ctx, cmd, o.Log)
		if err == nil {
			return mac, nil
		}
		o.Log.Error("network not up", "err", err, "retry_in", retrySoon)
		if err := o.Sleep(ctx, retrySoon); err != nil {
			return "", err
		}
	}
}

func loadRamdiskModules(o Options) {
	paths, err := readLoadList(o.Root)
	if err != nil {
		o.Log.Error("no modules loaded", "err", err)
		return
	}
	n := loadModules(o.Root, paths, finitModule, o.Log)
	o.Log.Info("modules loaded", "loaded", n, "listed", len(paths))
}

// reportUntilAccepted claims the boot's credentials, then posts the facts,
// until the appliance answers 200 to both. A claim refused (another
// claimed this boot) is retried slowly: an operator's release or power
// action arms a new boot, and the console says so meanwhile.
func reportUntilAccepted(ctx context.Context, o Options, cl *Client, mode string, f machineapi.Facts) error {
	nonce, err := newNonce()
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := error(nil)
		if cl.Token == "" {
			var c machineapi.Claimed
			if c, err = cl.Claim(ctx, nonce, mode); err == nil {
				o.Log.Info("credentials claimed", "state", c.State)
			} else if errors.Is(err, ErrConflict) {
				o.Log.Error("credentials refused: this boot's were claimed already; release the host or power-cycle it through rackboot", "err", err, "retry_in", retrySlow)
				if err := o.Sleep(ctx, retrySlow); err != nil {
					return err
				}
				continue
			}
		}
		if cl.Token != "" {
			err = cl.Report(ctx, f)
		}
		if err == nil {
			o.Log.Info("reported", "url", cl.BaseURL, "mac", cl.MAC)
			return nil
		}
		if errors.Is(err, ErrConflict) {
			o.Log.Error("report not taken, asking what to do next", "err", err)
			return nil
		}
		wait := retrySoon
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrRejected) {
			wait = retrySlow
		}
		o.Log.Error("report failed", "err", err, "attempt", attempt, "retry_in", wait)
		if err := o.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// poll asks the appliance what to do next until ctx ends. The appliance
// holds a "wait" answer as a long poll, so the pause between polls comes
// only after an error or an answer that came back at once.
func poll(ctx context.Context, o Options, cl *Client) error {
	last := ""
	for {
		began := time.Now()
		n, err := cl.Next(ctx)
		switch {
		case err != nil:
			o.Log.Error("next failed", "err", err)
		case n.Action != last:
			o.Log.Info("next", "action", n.Action, "state", n.State)
			last = n.Action
		}
		if err == nil {
			act(ctx, o, cl, n)
		}
		if err == nil && n.Action == machineapi.ActionWait && time.Since(began) >= o.PollEvery {
			continue // a long poll that waited: ask again at once
		}
		pause := o.PollEvery
		if errors.Is(err, ErrUnauthorized) {
			// A release or a power action through rackboot ended this
			// boot's credentials: the machine is about to be restarted.
			o.Log.Error("this boot's credentials were ended by the appliance; waiting to be restarted")
			pause = retrySlow
		}
		if err := o.Sleep(ctx, pause); err != nil {
			return err
		}
	}
}

// act is the switch point for what the appliance asks. A deploy runs to
// its end here (reported deployed and rebooted, or reported failed), then
// polling goes on.
func act(ctx context.Context, o Options, cl *Client, n machineapi.Next) {
	switch n.Action {
	case machineapi.ActionWait:
	case machineapi.ActionDeploy:
		deploy(ctx, o, cl, n.Deploy)
	case machineapi.ActionWipe:
		wipe(ctx, o, cl)
	case machineapi.ActionFail:
		o.Log.Error("the appliance cannot deploy this host", "cause", n.Cause)
		report(ctx, o, "failed", func(ctx context.Context) error { return cl.Failed(ctx, n.Cause) })
	default:
		o.Log.Error("unknown action, waiting", "action", n.Action)
	}
}

// Safely runs fn and turns a panic into an error with its stack, because
// the installer as PID 1 must never die: the kernel would panic and the
// console would lose the reason.
func Safely(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newNonce is the installer's random claim nonce, new per run.
func newNonce() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("claim nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
