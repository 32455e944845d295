package tftp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestGenerate: generated names are answered with their bytes ahead of
// files, other names fall through to the roots, a generator's error is
// a refusal that keeps its text off the wire, and Sent hears of each file
// sent whole with the client's address.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	want := writeRandomFile(t, dir, "bootx64.efi", 3000)
	var mu sync.Mutex
	var sent []string
	s := &Server{
		Roots: []string{dir},
		Generate: func(_ context.Context, name string) ([]byte, bool, error) {
			switch {
			case name == "grub/grub.cfg":
				return []byte("configfile /grub/grub.cfg-${net_default_mac}\n"), true, nil
			case strings.HasPrefix(name, "grub/secret"):
				return nil, true, errors.New("store at /var/lib/rackboot is sealed")
			}
			return nil, false, nil
		},
		Sent: func(client netip.Addr, name string) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, client.String()+" "+name)
		},
	}
	addr := startServer(t, s)
	got, err := fetch(t, addr.String(), "/grub/grub.cfg")
	must(t, err)
	if string(got) != "configfile /grub/grub.cfg-${net_default_mac}\n" {
		t.Fatalf("generated %q", got)
	}
	got, err = fetch(t, addr.String(), "bootx64.efi")
	must(t, err)
	if sum(got) != want {
		t.Fatal("a file of the root came back wrong")
	}
	_, err = fetch(t, addr.String(), "grub/secret")
	if err == nil || strings.Contains(err.Error(), "/var/lib") {
		t.Fatalf("generator error: %v, want a refusal without the cause", err)
	}
	if _, err := fetch(t, addr.String(), "../grub/grub.cfg"); err == nil {
		t.Fatal("a name climbing out was generated")
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sent) == 2 })
	mu.Lock()
	defer mu.Unlock()
	// The server hears the last ACK of one transfer while the client may
	// have asked for the next already: the order is not the test's.
	slices.Sort(sent)
	if sent[0] != "127.0.0.1 /grub/grub.cfg" || sent[1] != "127.0.0.1 bootx64.efi" {
		t.Fatalf("sent %q", sent)
	}
}
