// Package debvm holds the test of rackboot's Debian package in a real
// systemd: TestDebianPackageInSystemdVM builds two packages (make deb's
// scripts/debpkg), boots the Debian 12 VM of scripts/systemd-vm, and runs
// guest.sh there: apt install, the service and its sandbox, the CLI, a
// restore, a reboot, an upgrade that keeps every host and lease, apt
// remove (the conffile, the user and the data stay), a reinstall that
// finds the hosts again, and apt purge. It has no code of its own
// besides the test.
package debvm
