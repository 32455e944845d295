// Package provision is the host lifecycle: every operation that changes a
// host's state (enlist, booted, inspected, request deploy, deployed,
// failed, check-in, release, retry, wipe) and the timeouts of the
// in-progress states. Each operation is one store transaction
// (inventory.Store.ModifyHost or CreateHost), so a state and the fields that
// go with it never part. It also mints and checks the machines'
// credentials (boot tokens, agent tokens), since which token is good
// depends on where a host is in its lifecycle.
//
// The transport packages (dhcp, the machine side, web) decode a request,
// call one operation and encode its result; none of them changes a host's
// state itself. Reading (what an installer should do next) never writes.
//
// It is not the boot decision (package boot), nor the power control
// (package bmc): a release that reboots a host through its BMC is this
// package's transition followed by bmc's action, both asked by web.
package provision
