// Package virtual is a Redfish BMC in front of one lab VM, so rackboot's
// BMC code can be exercised end to end without hardware.
//
// A Server speaks the subset of Redfish that bmclib's gofish provider uses
// (sessions, Systems/1 power state, boot override and the Reset action)
// and drives a Machine: QEMU through QMP, or Simulated for load tests.
// Power-on starts the QEMU process with the configured argv plus -qmp and
// the -boot order the override asks for; ForceOff sends QMP "quit";
// GracefulShutdown sends the ACPI power button (a VM without an OS ignores
// it, like a real host hung in firmware).
//
// It is a lab tool: one account, no TLS of its own (wrap the listener or
// use httptest.NewTLSServer), no persistence across restarts.
package virtual
