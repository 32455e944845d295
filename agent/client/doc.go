// Package client is the config agent's side of the appliance's
// machine-facing API: long-poll for the host's graph, report its status,
// download the rackboot binary. Every request carries the host's agent
// token and MAC.
//
// It speaks HTTP only and imports nothing of the appliance but the wire
// contract, package machineapi. It does not retry: the caller owns backoff.
package client
