// Package lab is rackboot's virtual rack: a network namespace with a
// bridge, `rackboot serve` inside it in full DHCP mode, and QEMU VMs that
// netboot from it, each behind a BMC of its own (the virtual Redfish BMC
// of package bmc/virtual, or OpenIPMI's ipmi_sim with Chassis as its
// chassis control) and enrolled with it.
// The appliance's API is reachable from the machine running the lab over
// a veth pair whose two addresses are the lab's own, over HTTPS with a
// certificate the lab makes for its address (State.Cert); the VMs have no
// route anywhere else. VMs boot SeaBIOS, OVMF, or OVMF with Secure Boot
// and Microsoft's keys (Firmwares).
//
// A lab lives in a directory: its state (State, lab.json), the
// appliance's data, every VM's disk and console log, and every process's
// log; its unix sockets (consoles, QMP) are in SocketDir, a short path
// under /run. Up builds one, Open reads it back from another process, Down
// removes everything it made outside that directory (the namespace and
// with it the bridge, taps and veth, every process in it, the sockets),
// even after the process that ran Up was killed.
//
// Spec and Run are the declarative tests of `rackboot lab test`; the
// project's own end-to-end tests (scripts/e2e) use the same Lab.
//
// It is not a hypervisor manager: one host, root, QEMU, and Linux
// network namespaces; KVM when /dev/kvm opens, TCG otherwise.
package lab
