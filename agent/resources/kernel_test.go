package resources

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestHostnameTempRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "proc/sys/kernel/hostname"), "old\n")
	writeFile(t, filepath.Join(root, "etc/hosts"), "") // so etc/ exists, as on a host
	h := &Hostname{Named: Named{"node-7.rack1"}, Root: root}
	converge(t, h)
	for _, p := range []string{"proc/sys/kernel/hostname", "etc/hostname"} {
		if got := readFile(t, filepath.Join(root, p)); got != "node-7.rack1\n" {
			t.Errorf("%s = %q", p, got)
		}
	}
	for _, bad := range []string{"-x", "a_b", strings.Repeat("a", 64)} {
		if err := (&Hostname{Hostname: bad}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "hostname:") {
			t.Errorf("Validate(%q) = %v", bad, err)
		}
	}
}

func TestSysctlTempRoot(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "proc/sys/net/ipv4/tcp_rmem")
	writeFile(t, p, "4096\t131072\t6291456\n")
	same := &Sysctl{Named: Named{"net.ipv4.tcp_rmem"}, Value: "4096 131072  6291456", Root: root}
	if !mustCheck(t, same, true) {
		t.Fatal("whitespace difference counted as drift")
	}
	converge(t, &Sysctl{Named: Named{"net.ipv4.tcp_rmem"}, Value: "4096 87380 6291456", Root: root})
	if got := readFile(t, p); got != "4096 87380 6291456\n" {
		t.Fatalf("value = %q", got)
	}
	if _, err := (&Sysctl{Key: "no.such.key", Value: "1", Root: root}).CheckApply(t.Context(), true); err == nil {
		t.Fatal("missing key accepted")
	}
	for _, s := range []*Sysctl{{Key: "../etc/passwd", Value: "1"}, {Key: "a b", Value: "1"}} {
		if err := s.Validate(); err == nil || !strings.HasPrefix(err.Error(), "key:") {
			t.Errorf("Validate(%q) = %v", s.Key, err)
		}
	}
	if err := (&Sysctl{Key: "vm.swappiness"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "value:") {
		t.Errorf("empty value: %v", err)
	}
}
