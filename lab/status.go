package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one VM as Status sees it.
type Row struct {
	VM
	State   string // the inventory's, or the error reading it
	Power   bool   // its QEMU runs
	Agent   string // the agent's last report, if any
	Since   time.Duration
	Failure string
}

// Status reads every VM's state from the appliance and whether its QEMU
// runs.
func (l *Lab) Status(ctx context.Context) []Row {
	running := l.qemuUUIDs()
	rows := make([]Row, 0, len(l.VMs))
	for _, v := range l.VMs {
		r := Row{VM: v, Power: running[v.UUID]}
		h, err := l.Host(ctx, v.MAC)
		if err != nil {
			r.State = "? (" + err.Error() + ")"
		} else {
			r.State = string(h.State)
			r.Since = time.Since(h.StateChangedAt).Round(time.Second)
			if h.Agent != nil {
				r.Agent = h.Agent.Status
			}
			if h.Failure != nil {
				r.Failure = h.Failure.Cause
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// qemuUUIDs finds the QEMU processes in the namespace by the -uuid each
// was given.
func (l *Lab) qemuUUIDs() map[string]bool {
	found := map[string]bool{}
	for _, pid := range nsPIDs(l.Namespace) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		args := bytes.Split(b, []byte{0})
		if len(args) == 0 || !bytes.HasSuffix(args[0], []byte("qemu-system-x86_64")) {
			continue
		}
		for i := 0; i+1 < len(args); i++ {
			if string(args[i]) == "-uuid" {
				found[string(args[i+1])] = true
			}
		}
	}
	return found
}

// WriteTable prints rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tFIRMWARE\tMAC\tIP\tPOWER\tSTATE\tFOR\tAGENT")
	for _, r := range rows {
		power := "off"
		if r.Power {
			power = "on"
		}
		state := r.State
		if r.Failure != "" {
			state += ": " + firstLine(r.Failure)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Firmware, r.MAC, r.IP, power, state, r.Since, dash(r.Agent))
	}
	tw.Flush()
}

// Accel says how the lab's VMs run.
func (l *Lab) Accel() string {
	if l.KVM {
		return "KVM (/dev/kvm)"
	}
	return "TCG, no KVM (/dev/kvm not usable): VMs are slow"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
