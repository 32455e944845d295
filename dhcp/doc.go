// Package dhcp is rackboot's DHCPv4 server: it hands out leases (full and
// reservation-only modes) or only boot information beside another server
// (proxy mode), and tells each netbooting client what to load, following
// the boot table in DESIGN.md (see classify.go).
//
// Every answer comes from memory: leases from an in-memory index loaded from
// the store at start, hosts from the inventory's own index. Disk writes
// (lease commits, and the host created for a newly discovered MAC) happen
// off the read loop; leases are committed in batches, and the ACK for a
// lease leaves only after the batch holding it has committed.
//
// Use it by filling in a Server and calling Serve with sockets opened by
// Listen (Linux: SO_BINDTODEVICE on the wildcard address, so broadcasts
// arrive). It is not a general DHCP server: no DHCPv6, no failover, no
// dynamic DNS, no address-conflict probing before an offer (a client that
// finds its address in use DECLINEs it and the address is quarantined).
package dhcp
