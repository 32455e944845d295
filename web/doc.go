// Package web is rackboot's operator-facing HTTP side: the REST API under
// /api/v1, /metrics and /healthz, and the dashboard (package dashboard) at
// / and /ui/. The API and /metrics require the operator token; the
// dashboard signs in with it and then uses its own session cookie;
// /healthz requires nothing.
//
// It is not the machine-facing side: iPXE scripts, boot files and installer
// callbacks live in httpboot, which authenticates hosts with per-host tokens.
package web
