// Package e2e holds rackboot's end-to-end tests: the real binary, in a lab
// network namespace, netbooting QEMU virtual machines (SeaBIOS and OVMF)
// that are powered through virtual BMCs. It has no code of its own
// outside its tests; package lab (the one `rackboot lab` runs) provides
// the namespace, the appliance and the VMs.
package e2e
