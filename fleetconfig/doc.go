// Package fleetconfig renders the agent's configs for each host from the
// live inventory, and keeps every host's rendered graph current.
//
// Every config body is a Go text/template (a body without template
// actions renders to itself). It is rendered on the appliance for each
// host it selects, with:
//
//   - .Host: the host itself (.Hostname, .MAC, .IP, .Labels, .Facts);
//   - hosts "SELECTOR": the active hosts whose labels match SELECTOR
//     ("k=v,k2=v2"; "k" asks only that the label be there; "" is every
//     active host), ordered by MAC, each with the same fields as .Host;
//   - value "HOST" "KEY": the value host HOST (a hostname or a MAC)
//     published under KEY with an export resource, "" while it has not;
//   - quote: a string as a YAML double-quoted scalar, for values that
//     should not be read as YAML.
//
// Graphs is the service: it renders every host once at start, then
// follows the Store's change feed. Each render records what it read: a
// field of .Host; a selector, which stands for who its members are and
// every field of theirs (members are plain values, as a template reads
// them by the hundred); which host a name means; a published value. A
// change re-renders only the hosts whose renders read what changed, and
// wakes an agent only when its rendered graph differs from the one it
// has: a render that comes out the same wakes nobody. A host whose configs fail to render keeps
// its last good graph, and the failure (config, line, column, function)
// is stored on the host (inventory.Host.RenderFailure).
//
// Check is what the operator API runs on a config before storing it: a
// template syntax error, or a YAML mistake in a body without actions, is
// refused with its line and column.
//
// Limits: a template runs to completion once started (text/template has
// no cancellation), so a config that loops for ages stalls rendering for
// everyone; a rendered config is bounded to inventory.MaxAgentConfigBytes.
// The renderer keeps the last good graphs in memory: after a restart a
// host whose configs fail to render has none to serve, and its agent keeps
// running what it has. It is not the agent's parser (agent/config), which
// the appliance runs on each rendered config so a host is never sent a
// graph its agent would refuse.
package fleetconfig
