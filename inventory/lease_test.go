package inventory

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

func TestLeasesSurviveReopen(t *testing.T) { eachStore(t, testLeasesSurviveReopen) }

func testLeasesSurviveReopen(t *testing.T, f fixture) {
	db := f.Open(t, Options{})
	a, b := netip.MustParseAddr("10.0.0.100"), netip.MustParseAddr("10.0.0.101")
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	ctx := context.Background()
	err := db.WriteLeases(ctx, []LeaseChange{
		{Put: []Lease{{IP: a, MAC: "52:54:00:00:00:01", Hostname: "n1", Expires: exp}}},
		{Put: []Lease{{IP: b, MAC: "52:54:00:00:00:02", Expires: exp}}},
		// Later changes in one batch win: b is released, a moves on.
		{Delete: []netip.Addr{b}},
		{Delete: []netip.Addr{a}, Put: []Lease{{IP: a, Declined: true, Expires: exp}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = f.Open(t, Options{})
	got, err := db.Leases()
	if err != nil || len(got) != 1 || got[0].IP != a || !got[0].Declined || got[0].MAC != "" || !got[0].Expires.Equal(exp) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if err := db.WriteLeases(ctx, []LeaseChange{{Put: []Lease{{MAC: "52:54:00:00:00:03"}}}}); err == nil {
		t.Error("a lease without an IPv4 address was stored")
	}
}

func BenchmarkWriteLeases(b *testing.B) {
	db, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, batch := range []int{1, 100, 1000} {
		b.Run("batch="+itoa(batch), func(b *testing.B) {
			changes := make([]LeaseChange, batch)
			for i := 0; i < b.N; i++ {
				for j := range changes {
					n := uint32(i*batch + j)
					ip := netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
					changes[j] = LeaseChange{Put: []Lease{{IP: ip, MAC: "52:54:00:00:00:01", Expires: time.Now()}}}
				}
				if err := db.WriteLeases(context.Background(), changes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "leases/s")
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
