// Package installer is the program that runs on a machine booted into the
// rackboot installer ramdisk: as PID 1 it mounts the kernel's pseudo
// filesystems, loads the NIC and disk drivers the ramdisk carries, brings up
// the boot NIC, gathers the machine's hardware facts and reports them to the
// appliance's machine-facing HTTP side, then polls it for the next action.
//
// It talks to the appliance over HTTP only and never imports its packages:
// the JSON it sends is declared here, field for field compatible with the
// inventory's Facts. It is not the post-install config agent.
//
// Everything that reads the machine takes a root directory, so tests run it
// over a fake tree laid out like /sys and /proc.
package installer
