// Package lab is rackboot's virtual rack: a network namespace with a
// bridge, `rackboot serve` inside it in full DHCP mode, and QEMU VMs that
// netboot from it, each behind a BMC of its own (the virtual Redfish BMC
// of package bmc/virtual, or OpenIPMI's ipmi_sim with Chassis as its
// chassis control) and enrolled with it.
// The appliance's API is reachable from the machine running the lab over
// a veth pair whose two addresses are the lab's own; the VMs have no
// route anywhere else.
//
// A lab lives in a directory: its state (State, lab.json), the
// appliance's data, every VM's disk, console log and console socket, and
// every process's log. Up builds one, Open reads it back from another
// process, Down removes everything it made outside that directory (the
// namespace and with it the bridge, taps and veth, and every process in
// it), even after the process that ran Up was killed.
//
// Spec and Run are the declarative tests of `rackboot lab test`; the
// project's own end-to-end tests (scripts/e2e) use the same Lab.
//
// It is not a hypervisor manager: one host, root, QEMU, and Linux
// network namespaces; KVM when /dev/kvm opens, TCG otherwise.
package lab
