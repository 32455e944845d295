// Package httpboot is the machine-facing HTTP side of rackboot: the iPXE
// script for each host (chosen by its lifecycle state), the iPXE binaries
// for UEFI HTTP Boot, the installer's kernel and initrd, and the callbacks
// of the installer.
//
// Machines are authenticated by per-host boot tokens (see Tokens), never by
// the operator token. Operator routes live in package web.
package httpboot
