package dashboard

import (
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rackboot/rackboot/inventory"
)

// BenchmarkLiveUpdate is what one change costs the live list with eight
// tabs open on one page of 10,000 hosts: each tab's stream reads the page
// again. "shared" is the dashboard as it is (one reading, shared by the
// streams that heard of the change before it began); "each" is every
// stream reading for itself, its peer in the same run. The inventory is
// on /dev/shm so that filling it is quick; the readings are in memory
// either way.
func BenchmarkLiveUpdate(b *testing.B) {
	dir, err := os.MkdirTemp("/dev/shm", "rackboot-bench-")
	if err != nil {
		b.Skip("no /dev/shm:", err)
	}
	defer os.RemoveAll(dir)
	store, err := inventory.Open(dir, inventory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 10000; i += 16 {
				h := inventory.Host{MAC: fmt.Sprintf("52:54:00:00:%02x:%02x", i>>8, i&0xff), Hostname: fmt.Sprintf("node%05d", i),
					Labels: map[string]string{"rack": fmt.Sprintf("r%02d", i%40)}}
				if _, err := store.CreateHost(b.Context(), h, "bench"); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	d, err := New(Config{Store: store, Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	const tabs = 8
	for _, order := range []string{"", "sort=hostname&dir=desc"} {
		v, _ := url.ParseQuery(order)
		q, _ := parseListQuery(v, 50)
		name := "mac"
		if order != "" {
			name = "hostname-desc"
		}
		b.Run(name+"/each", func(b *testing.B) {
			for b.Loop() {
				for range tabs {
					if _, _, err := d.readResults(b.Context(), q); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(name+"/shared", func(b *testing.B) {
			for b.Loop() {
				heard := time.Now() // every tab heard of the change just now
				for range tabs {
					if _, _, err := d.results(b.Context(), q, heard); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
