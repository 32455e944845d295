// Package dhcplab is test support: a lab of network namespaces on one
// bridge in which tests run real DHCP clients (Kea's perfdhcp, ISC
// dhclient, busybox udhcpc) against a real server, and a sniffer that
// records from the wire which address every DHCPACK gave to which MAC.
// The dhcp package's tests and cmd/rackboot's (serve, backup) use it.
//
// It is not for production code: it creates namespaces, runs ip(8) and
// fails the test it is given. Nothing it builds is routed out of the
// namespaces, which are deleted when the test ends. It imports nothing of
// rackboot's, so the dhcp package's own tests can use it.
package dhcplab
