// Package web is rackboot's operator-facing HTTP side: the REST API under
// /api/v1, /metrics and /healthz. Every route except /healthz requires the
// operator token.
//
// It is not the machine-facing side: iPXE scripts, boot files and installer
// callbacks live in httpboot, which authenticates hosts with per-host tokens.
package web
