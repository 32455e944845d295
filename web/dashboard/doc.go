// Package dashboard is rackboot's operator web UI: server-rendered HTML for
// the host list, a host page and the image list, with a little vanilla
// JavaScript that patches rows and sections from a server-sent event stream
// fed by the inventory's change feed.
//
// It reads the inventory.Store directly and sends lifecycle and power
// actions through the Actions interface, so a button press and a REST call
// run the same code (APIActions adapts the REST API's own handler). It signs
// operators in with the operator token, keeps an HMAC-derived session in an
// HttpOnly, SameSite=Strict cookie and checks a per-session CSRF token on
// every state-changing request.
//
// It is not the REST API (package web) and does not authenticate with
// Authorization: Bearer. Everything it serves is embedded in the binary.
package dashboard
