package images

import (
	"errors"
	"strings"
	"testing"
)

const debianSums = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

2ed54d3a0c1ef9ee1e4d0a4b2f2a8b1a5f1d6e3b7c9a0e1f2d3c4b5a6978e0f1  debian-12-generic-amd64.qcow2
AB1D54D3A0C1EF9EE1E4D0A4B2F2A8B1A5F1D6E3B7C9A0E1F2D3C4B5A6978E0F *debian-12-generic-amd64.raw
# a comment
SHA256 (Fedora-Cloud-Base-Generic-41.qcow2) = 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
SHA512 (Fedora-Cloud-Base-Generic-41.qcow2) = 00
`

func TestChecksumFor(t *testing.T) {
	for name, want := range map[string]string{
		"debian-12-generic-amd64.qcow2":                     "2ed54d3a0c1ef9ee1e4d0a4b2f2a8b1a5f1d6e3b7c9a0e1f2d3c4b5a6978e0f1",
		"https://example.org/x/debian-12-generic-amd64.raw": "ab1d54d3a0c1ef9ee1e4d0a4b2f2a8b1a5f1d6e3b7c9a0e1f2d3c4b5a6978e0f",
		"Fedora-Cloud-Base-Generic-41.qcow2":                "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
	} {
		if got, err := ChecksumFor([]byte(debianSums), name); err != nil || got != (Checksum{"sha256", want}) {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
	}
	sha512 := strings.Repeat("ab", 64)
	if got, err := ChecksumFor([]byte(debianSums+sha512+"  debian-12-generic-amd64.tar.xz\nSHA512 (x.img) = "+sha512+"\n"), "x.img"); err != nil || got != (Checksum{"sha512", sha512}) {
		t.Errorf("sha512: %+v %v", got, err)
	}
	if _, err := ChecksumFor([]byte(debianSums), "other.img"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "among the 3") {
		t.Errorf("missing: %v", err)
	}
	two := debianSums + strings.Repeat("1", 64) + "  debian-12-generic-amd64.qcow2\n"
	if _, err := ChecksumFor([]byte(two), "debian-12-generic-amd64.qcow2"); !errors.Is(err, ErrInvalid) {
		t.Errorf("conflicting: %v", err)
	}
}

// FuzzChecksumFor: any file, any name: no panic, and a sum found is 64
// lowercase hex digits.
func FuzzChecksumFor(f *testing.F) {
	f.Add([]byte(debianSums), "debian-12-generic-amd64.qcow2")
	f.Add([]byte("SHA256 (a) = "+strings.Repeat("A", 64)), "a")
	f.Add([]byte(strings.Repeat("0", 64)+" *"), "")
	f.Fuzz(func(t *testing.T, sums []byte, name string) {
		got, err := ChecksumFor(sums, name)
		if err == nil && !(got.Algo == "sha256" && validDigest(got.Hex) || got.Algo == "sha512" && len(got.Hex) == 128) {
			t.Fatalf("sum %q", got)
		}
	})
}
