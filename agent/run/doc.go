// Package run is `rackboot agent`: it keeps an installed host's
// configuration converged with what the appliance holds for it.
//
// An Agent long-polls the appliance for the host's graph (every config that
// selects the host), parses and merges the configs, hands the result to the
// engine, and reports converged / unconverged and per-resource status as
// they happen. A graph that does not parse or merge is refused and the
// running one stays; the error is reported. When the appliance is away the
// running graph keeps being enforced and the agent reconnects with backoff.
//
// It is not the installer (installer) and it stores nothing on the
// host: after a restart it fetches its graph again and every resource is
// checked again.
package run
