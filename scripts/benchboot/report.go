package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// report sums up a storm. Throughput counts the bytes of successful
// transfers only, over the wall time of the whole storm; MB is 10^6 bytes.
type report struct {
	ok, failed int
	bytes      int64
	elapsed    time.Duration
	p50, p99   time.Duration
	errs       map[string]int
}

func summarize(results []result, elapsed time.Duration) report {
	rep := report{elapsed: elapsed, errs: map[string]int{}}
	var times []time.Duration
	for _, r := range results {
		if r.err != nil {
			rep.failed++
			rep.errs[r.err.Error()]++
			continue
		}
		rep.ok++
		rep.bytes += r.bytes
		times = append(times, r.duration)
	}
	slices.Sort(times)
	rep.p50 = percentile(times, 50)
	rep.p99 = percentile(times, 99)
	return rep
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	return sorted[max(rank, 1)-1]
}

func (r report) mbps() float64 {
	return float64(r.bytes) / 1e6 / r.elapsed.Seconds()
}

// line is the one line a script greps, as key=value pairs.
func (r report) line(cfg config) string {
	return fmt.Sprintf("proto=%s target=%s file=%s clients=%d rounds=%d ok=%d errors=%d bytes=%d seconds=%.3f MBps=%.2f p50=%s p99=%s",
		cfg.proto, cfg.target, cfg.file, cfg.clients, cfg.rounds, r.ok, r.failed, r.bytes,
		r.elapsed.Seconds(), r.mbps(), r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond))
}

// printErrors lists each distinct error once with its count.
func (r report) printErrors(w io.Writer) {
	for msg, n := range r.errs {
		fmt.Fprintf(w, "error ×%d: %s\n", n, msg)
	}
}
