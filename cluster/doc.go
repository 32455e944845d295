// Package cluster lets several rackboot appliances that share an etcd
// inventory act as one: each registers itself (id, machine-facing URL,
// networks) on an etcd lease that ends when it stops, and for each
// network it serves addresses on, the appliances campaign in an etcd
// election so that exactly one of them answers DHCP there.
//
// Leadership is fenced and bounded: the leader's lease writes carry a
// compare on its election key (inventory.Fence), so a deposed leader's
// writes fail; and a leader that has not heard its session's keepalive
// answered for most of the TTL stops serving before etcd can have
// expired its key and elected another.
//
// It is not a consensus protocol of its own: etcd's leases, elections and
// transactions do the work. It does not decide what DHCP answers (package
// dhcp) nor store hosts (package inventory).
package cluster
