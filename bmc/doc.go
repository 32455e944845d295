// Package bmc controls machines through their BMCs, over Redfish or
// IPMI, with bmclib doing the protocol work.
//
// A Controller adds what operators learned the hard way on top of bmclib:
// a global cap on concurrent BMC sessions, one session per BMC at a time
// with a minimum gap between commands, a timeout on every operation,
// retries with backoff on transient errors but never after a refused
// login, and power actions confirmed by polling the state afterwards (a
// cycle powers on only once the BMC reports off). A Fleet runs power
// actions for inventory hosts and polls their power state (Fleet.Run).
//
// The Controller knows nothing of the inventory: callers pass a Target per
// call; Fleet is the layer that reads hosts and records events. The virtual
// BMC used by the lab lives in the subpackage virtual.
package bmc
