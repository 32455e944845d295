package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rackboot/rackboot/inventory"
)

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, store inventory.Store) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rackboot_api_requests_total", Help: "Operator API requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rackboot_api_request_duration_seconds", Help: "Operator API request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency, hostsByState{store})
	return m
}

// middleware counts and times each request under its route pattern (not its
// path, so a MAC in the URL does not make a new series).
func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(ww.Status())).Inc()
		m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// hostsByState reports the inventory's counts at scrape time, straight from
// the Store's in-memory index.
type hostsByState struct{ store inventory.Store }

var hostsDesc = prometheus.NewDesc("rackboot_hosts", "Hosts in the inventory by lifecycle state.", []string{"state"}, nil)

func (c hostsByState) Describe(ch chan<- *prometheus.Desc) { ch <- hostsDesc }

func (c hostsByState) Collect(ch chan<- prometheus.Metric) {
	n := c.store.CountByState()
	for _, s := range inventory.States {
		ch <- prometheus.MustNewConstMetric(hostsDesc, prometheus.GaugeValue, float64(n[s]), string(s))
	}
}
