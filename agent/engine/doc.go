// Package engine runs the host agent's resource graph: every resource watches
// the thing it manages and is checked and corrected as soon as it drifts, in
// dependency order, with independent branches in parallel.
//
// A caller builds a Graph (resources plus require/notify edges), starts Run
// once, then hands graphs to Apply; a new graph is diffed against the running
// one so unchanged resources keep their watches. Status events (per resource,
// converged/unconverged) go to Config.OnEvent.
//
// It is not a scheduler for one-off jobs and it does not persist anything:
// after a restart every resource is simply checked again.
package engine
