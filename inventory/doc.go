// Package inventory is rackboot's domain model: hosts, their lifecycle,
// per-host event logs, and the Store that keeps them durable in bbolt.
//
// Every read of a host is answered from an in-memory index that is updated
// only after the bbolt transaction that changed it has committed, so the
// boot path (DHCP, iPXE scripts) never waits on disk. Writes go through
// bbolt's batching so that many concurrent writers share one fsync.
//
// It is not an API layer: validation of wire formats and authentication live
// in the packages that face the network.
package inventory
