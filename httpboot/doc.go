// Package httpboot is the machine-facing HTTP side of rackboot: the iPXE
// script for each host (chosen by its lifecycle state), the iPXE binaries
// for UEFI HTTP Boot, the installer's kernel and initrd, the installer's
// callbacks (inspect, next, image, progress, deployed, failed, wiped), and
// the agent's routes on installed hosts (its graph, its status, its first
// boot, the rackboot binary).
//
// Machines are authenticated by per-host tokens, never by the operator
// token: boot tokens (see Tokens) for the installer, agent tokens (minted
// into each deployed host's seed, revocable) for the agent. Operator
// routes live in package web.
package httpboot
