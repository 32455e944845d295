// Package inventory is rackboot's domain model: hosts, their lifecycle,
// per-host event logs, and the Store that keeps them durable: in bbolt
// (DB, the default: one appliance) or in etcd (Etcd: several appliances
// sharing one inventory).
//
// Every read of a host is answered from an in-memory index that is updated
// only after the transaction that changed it has committed, so the boot
// path (DHCP, iPXE scripts) never waits on disk or network. DB's writes go
// through bbolt's batching so that many concurrent writers share one
// fsync; Etcd's are etcd transactions guarded by compare-and-swap, and its
// index follows etcd's Watch, so it also sees the other appliances' writes.
//
// It is not an API layer: validation of wire formats and authentication live
// in the packages that face the network. Nor does it decide which
// appliance answers DHCP (package cluster); it only fences lease writes on
// the election that did.
package inventory
