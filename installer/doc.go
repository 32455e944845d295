// Package installer is the program that runs on a machine booted into the
// rackboot installer ramdisk: as PID 1 it mounts the kernel's pseudo
// filesystems, loads the NIC and disk drivers the ramdisk carries, brings up
// the boot NIC, gathers the machine's hardware facts and reports them to the
// appliance's machine-facing HTTP side, then polls it for the next action.
//
// It talks to the appliance over HTTP only and imports none of its
// packages: paths and bodies come from package machineapi, the contract the
// appliance serves, and images come through images/compression, the
// decompressor the image store reads them with. It is not the
// post-install config agent.
//
// Everything that reads the machine takes a root directory, so tests run it
// over a fake tree laid out like /sys and /proc.
package installer
