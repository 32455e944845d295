// Package resources holds the host agent's resource kinds (file, exec,
// hostname, sysctl, user, group, ssh-key, pkg, svc, export), each an
// engine.Resource. Parameters are plain exported fields with yaml tags, so
// the config package can decode them; fields tagged yaml:"-" are seams for
// tests (a root directory, a command runner, a systemd connection).
//
// Resources that cannot be watched (sysctl, pkg, the kernel hostname) poll
// on their own interval; the engine's poll metaparameter overrides it.
package resources
