// Package initramfs builds the installer ramdisk: a gzip'd newc cpio whose
// /init is rackboot's own static binary, plus the NIC and disk driver
// modules of one kernel with their dependencies and the order to load them
// in (/lib/modules/rackboot.load, read by installer).
//
// The output is deterministic: the same inputs give the same bytes (sorted
// entries, zero times and owners, fixed gzip header). It takes the kernel's
// modules tree as extracted from a Debian linux-image package, which ships
// no modules.dep (depmod runs at install time): dependencies then come from
// each module's own .modinfo. It does not fetch kernels (scripts/fetch-kernel
// does) and does not embed a shell or any other program.
package initramfs
