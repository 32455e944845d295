package installer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/u-root/u-root/pkg/dhclient"
	"github.com/vishvananda/netlink"
)

// How long to wait for the boot NIC's driver to create it, and for its
// link to come up before DHCP.
const (
	nicAppearTimeout = 60 * time.Second
	linkUpTimeout    = 30 * time.Second
)

// bringUpNetwork finds the boot NIC (the one with cmd.MAC, or the first
// physical one), brings it up and gives it an address, statically when the
// command line says so and by DHCP otherwise. It returns the NIC's MAC.
func bringUpNetwork(ctx context.Context, cmd Cmdline, log *slog.Logger) (string, error) {
	link, err := waitForLink(ctx, cmd.MAC, nicAppearTimeout)
	if err != nil {
		return "", fmt.Errorf("network: %w", err)
	}
	name, mac := link.Attrs().Name, link.Attrs().HardwareAddr.String()
	log.Info("nic found", "nic", name, "nic_mac", mac)
	if cmd.IP.IsValid() {
		err = configureStatic(link, cmd)
	} else {
		err = configureDHCP(ctx, link, log)
	}
	if err != nil {
		return "", fmt.Errorf("network: %s: %w", name, err)
	}
	return mac, nil
}

// waitForLink polls until the NIC appears: its driver was loaded moments
// ago and probes asynchronously on some buses.
func waitForLink(ctx context.Context, mac string, timeout time.Duration) (netlink.Link, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if l := findLink(mac); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			if mac == "" {
				return nil, fmt.Errorf("no physical NIC after %v", timeout)
			}
			return nil, fmt.Errorf("no NIC with MAC %s after %v", mac, timeout)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// findLink returns the link with the MAC, or with none given the first
// physical link by name; nil when there is none yet.
func findLink(mac string) netlink.Link {
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Name < links[j].Attrs().Name })
	for _, l := range links {
		a := l.Attrs()
		if mac != "" && a.HardwareAddr.String() == mac {
			return l
		}
		if mac == "" && isPhysical(a.Name) {
			return l
		}
	}
	return nil
}

func isPhysical(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name, "device"))
	return err == nil
}

// configureStatic sets the command line's address and default route.
func configureStatic(link netlink.Link, cmd Cmdline) error {
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("link up: %w", err)
	}
	ipnet := &net.IPNet{IP: cmd.IP.Addr().AsSlice(), Mask: net.CIDRMask(cmd.IP.Bits(), 32)}
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipnet}); err != nil {
		return fmt.Errorf("address %s: %w", cmd.IP, err)
	}
	if !cmd.GW.IsValid() {
		return nil
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: cmd.GW.AsSlice()}
	if err := netlink.RouteReplace(r); err != nil {
		return fmt.Errorf("default route via %s: %w", cmd.GW, err)
	}
	return nil
}

// configureDHCP asks for an IPv4 lease on the one link and applies it
// (address, routes, resolv.conf).
func configureDHCP(ctx context.Context, link netlink.Link, log *slog.Logger) error {
	cfg := dhclient.Config{Timeout: 10 * time.Second, Retries: 3}
	var errs []error
	for r := range dhclient.SendRequests(ctx, []netlink.Link{link}, true, false, cfg, linkUpTimeout) {
		if r.Err != nil {
			errs = append(errs, r.Err)
			continue
		}
		if err := r.Lease.Configure(); err != nil {
			return fmt.Errorf("dhcp: apply lease: %w", err)
		}
		log.Info("dhcp lease", "lease", r.Lease.String())
		return nil
	}
	if len(errs) == 0 {
		return errors.New("dhcp: link never came up")
	}
	return fmt.Errorf("dhcp: %w", errors.Join(errs...))
}
