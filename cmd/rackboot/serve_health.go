package main

import (
	"context"
	"fmt"
	"github.com/rackboot/rackboot/cluster"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/dhcp"
	"github.com/rackboot/rackboot/provision"
	"github.com/rackboot/rackboot/tftp"
	"github.com/rackboot/rackboot/web/dashboard"
)

// health feeds the dashboard's health strip from the running parts: DHCP
// mode and leases, other DHCP servers seen, and TFTP and HTTP boot rates.
// Parts that are off leave their field nil.
type health struct {
	dhcp      *dhcp.Server
	lifecycle *provision.Lifecycle
	tftp      *tftp.Server
	httpBytes atomic.Uint64
	// member lists the appliances sharing an etcd inventory; nil on bbolt.
	member *cluster.Member

	mu                  sync.Mutex
	at                  time.Time
	tftpBytes, httpSeen uint64
	tftpRate, httpRate  float64
}

// Health implements dashboard.Health.
func (h *health) Health() []dashboard.HealthItem {
	items := []dashboard.HealthItem{{Name: "DHCP", Value: "off"}}
	if h.dhcp != nil {
		items[0].Value = fmt.Sprintf("%s, %d leases", h.dhcp.Mode, h.dhcp.Stats().ActiveLeases)
		for _, o := range h.dhcp.OtherServers() {
			items = append(items, dashboard.HealthItem{Name: "other DHCP server", Value: o.IP.String() + " answered", Warn: true})
		}
	}
	if h.lifecycle != nil {
		if st := h.lifecycle.DiscoveryStats(); st.AtCap+st.AtRate > 0 {
			v := fmt.Sprintf("%d unknown machines not enlisted (%d at the cap, %d over the rate)", st.AtCap+st.AtRate, st.AtCap, st.AtRate)
			if st.AtCapNow {
				v = fmt.Sprintf("at its cap of %d discovered or inspecting hosts; ", st.Max) + v
			}
			items = append(items, dashboard.HealthItem{Name: "discovery", Value: v, Warn: true})
		}
	}
	items = append(items, h.appliances()...)
	tftpRate, httpRate := h.rates()
	if h.tftp != nil {
		items = append(items, dashboard.HealthItem{Name: "TFTP", Value: mbps(tftpRate)})
	}
	return append(items, dashboard.HealthItem{Name: "HTTP boot", Value: mbps(httpRate)})
}

func mbps(r float64) string { return fmt.Sprintf("%.1f MB/s", r/1e6) }

// rates are bytes per second since the previous sample; samples closer
// than a second apart reuse the last rates.
func (h *health) rates() (tftpRate, httpRate float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	var tb uint64
	if h.tftp != nil {
		tb = h.tftp.Stats().BytesSent
	}
	hb := h.httpBytes.Load()
	if d := now.Sub(h.at).Seconds(); d >= 1 {
		if !h.at.IsZero() {
			h.tftpRate, h.httpRate = float64(tb-h.tftpBytes)/d, float64(hb-h.httpSeen)/d
		}
		h.at, h.tftpBytes, h.httpSeen = now, tb, hb
	}
	return h.tftpRate, h.httpRate
}

// countBytes counts what next writes, keeping sendfile: ReadFrom passes
// through to the connection's own.
func (h *health) countBytes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&countingWriter{ResponseWriter: w, n: &h.httpBytes}, r)
	})
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Uint64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(uint64(n))
	return n, err
}

func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(c.ResponseWriter, r)
	}
	c.n.Add(uint64(n))
	return n, err
}

// Flush keeps long-polls and streams working through the wrapper.
func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// discoveryCollector exports what discovery refused.
type discoveryCollector struct{ lc *provision.Lifecycle }

var discoveryRefusedDesc = prometheus.NewDesc("rackboot_discovery_refused_total",
	"Unknown machines not enlisted, by the limit that refused them (--discovery-max, --discovery-rate).", []string{"limit"}, nil)

func (discoveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- discoveryRefusedDesc }

func (c discoveryCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.lc.DiscoveryStats()
	ch <- prometheus.MustNewConstMetric(discoveryRefusedDesc, prometheus.CounterValue, float64(st.AtCap), "cap")
	ch <- prometheus.MustNewConstMetric(discoveryRefusedDesc, prometheus.CounterValue, float64(st.AtRate), "rate")
}

// appliances is one item per live appliance sharing the inventory: the
// networks whose DHCP it leads, or that it stands by.
func (h *health) appliances() []dashboard.HealthItem {
	if h.member == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	list, err := h.member.Appliances(ctx)
	if err != nil {
		return []dashboard.HealthItem{{Name: "appliances", Value: "etcd unreachable: " + err.Error(), Warn: true}}
	}
	items := make([]dashboard.HealthItem, 0, len(list))
	for _, a := range list {
		v := "standing by"
		if len(a.Leads) > 0 {
			v = "DHCP leader of " + strings.Join(a.Leads, ", ")
		}
		name := "appliance " + a.ID
		if a.ID == h.member.ID {
			name += " (this one)"
		}
		items = append(items, dashboard.HealthItem{Name: name, Value: v})
	}
	return items
}
