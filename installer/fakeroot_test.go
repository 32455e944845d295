package installer

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeRoot lays out files (path → contents) and symlinks (path → target)
// under a temp dir shaped like / on a machine.
func fakeRoot(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		writeFile(t, filepath.Join(root, p), c)
	}
	for p, target := range links {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// smbiosTable builds a raw table from structures given as formatted areas
// (header included), each followed by an empty string set, then the end
// marker.
func smbiosTable(structs ...[]byte) string {
	var b []byte
	for _, s := range structs {
		b = append(b, s...)
		b = append(b, 0, 0)
	}
	b = append(b, smbiosEndOfTable, 4, 0xff, 0xff, 0, 0)
	return string(b)
}

// type17 is a memory device whose Size field is size (see memoryDeviceSize).
func type17(size uint16, extendedMiB uint32) []byte {
	d := make([]byte, 0x22)
	d[0], d[1] = smbiosMemoryDevice, byte(len(d))
	d[0x0C], d[0x0D] = byte(size), byte(size>>8)
	d[0x1C], d[0x1D], d[0x1E], d[0x1F] = byte(extendedMiB), byte(extendedMiB>>8), byte(extendedMiB>>16), byte(extendedMiB>>24)
	return d
}

// type19 is a mapped address range in KiB, end inclusive.
func type19(startKB, endKB uint32) []byte {
	d := make([]byte, 0x1F)
	d[0], d[1] = smbiosMemArrayMapped, byte(len(d))
	for i := 0; i < 4; i++ {
		d[0x04+i] = byte(startKB >> (8 * i))
		d[0x08+i] = byte(endKB >> (8 * i))
	}
	return d
}
