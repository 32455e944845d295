package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// measureIdle samples this process's CPU time and RSS while the engine sits
// converged and nothing touches its file.
func measureIdle(ctx context.Context, r *runner, d time.Duration, out io.Writer) error {
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}
	start := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return ctx.Err()
	}
	cpu1, err := cpuTime()
	if err != nil {
		return err
	}
	rss, err := rssKB()
	if err != nil {
		return err
	}
	wall := time.Since(start)
	fmt.Fprintf(out, "idle, converged, %v: cpu %.3f%% of one core (%v cpu), rss %.1f MB\n",
		wall.Round(time.Second), 100*float64(cpu1-cpu0)/float64(wall), cpu1-cpu0, float64(rss)/1024)
	return nil
}

// cpuTime is utime+stime of this process from /proc/self/stat.
func cpuTime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: bad /proc/self/stat")
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rssKB is VmRSS from /proc/self/status.
func rssKB() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("rss: no VmRSS in /proc/self/status")
}
