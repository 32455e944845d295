// Package machine is the HTTP side that machines reach: the iPXE script
// of each host (the boot decision's Plan, rendered from templates), the
// loaders for UEFI HTTP Boot, the installer's kernel and initrd, the image
// streams, and the calls of the installer (booted, inspect, next,
// progress, deployed, failed, wiped) and of the agent on installed hosts
// (its graph, rendered by package fleetconfig; its status; the values it
// exports; its first boot; the rackboot binary), whose
// paths and bodies are package machineapi's.
//
// Its handlers decode, call one operation of package provision, and
// encode; none changes a host itself, and no GET writes anything.
// Machines are authenticated by per-host tokens, never by the operator
// token: boot tokens for the installer, agent tokens (in each deployed
// host's seed, revocable) for the agent. Operator routes live in package
// web.
package machine
