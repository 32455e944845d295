package images_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/rackboot/rackboot/images"
)

// BenchmarkImport measures an import from memory to the store's disk, per
// compression, of an image that is half zeros and half random bytes (an
// OS image's mix, roughly). MB/s counts uncompressed bytes. The size is
// 64 MiB, or RACKBOOT_BENCH_MIB.
func BenchmarkImport(b *testing.B) {
	mib := 64
	if v, err := strconv.Atoi(os.Getenv("RACKBOOT_BENCH_MIB")); err == nil {
		mib = v
	}
	disk := halfZeros(b, mib<<20)
	for _, tc := range []struct {
		name string
		enc  func(testing.TB, []byte) []byte
	}{
		{"raw", func(_ testing.TB, d []byte) []byte { return d }},
		{"gzip", gzipped},
		{"zstd", zstded},
		{"xz", xzed},
	} {
		b.Run(tc.name, func(b *testing.B) {
			stored := tc.enc(b, disk) // before b.Loop, so not timed
			s := openStore(b, b.TempDir())
			b.SetBytes(int64(len(disk)))
			for i := 0; b.Loop(); i++ {
				_, err := s.Import(context.Background(), bytes.NewReader(stored), images.ImportOptions{Name: fmt.Sprint("b", i)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func halfZeros(tb testing.TB, n int) []byte {
	d := make([]byte, n)
	copy(d, gptDisk(tb, "bench")[:1<<20])
	for off := 2 << 20; off < n; off += 2 << 20 {
		rand.Read(d[off:min(off+1<<20, n)])
	}
	return d
}
