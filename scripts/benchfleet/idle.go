package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTicks = 100

// measureIdle samples the appliance's CPU time and RSS while every agent
// sits in its long poll (each re-polls when the appliance's 25 s wait runs
// out), after a pause for the agents' last reports. It also gives this
// process's CPU, which with -mode inproc is the agents'.
func measureIdle(ctx context.Context, f *fleet, out io.Writer) error {
	select {
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	pid := f.app.pid()
	cpu0, err := cpuTime(pid)
	if err != nil {
		return err
	}
	self0, _ := cpuTime(os.Getpid())
	start := time.Now()
	peak := 0
	for time.Since(start) < f.o.idle {
		select {
		case <-time.After(time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		if rss, err := rssKB(pid); err == nil {
			peak = max(peak, rss)
		}
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return err
	}
	self1, _ := cpuTime(os.Getpid())
	rss, err := rssKB(pid)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	fmt.Fprintf(out, "appliance, %d agents idle in their long polls for %v: cpu %.2f%% of one core (%v), rss %.1f MB (peak %.1f MB)\n",
		len(f.active)+len(f.r2), wall.Round(time.Second), 100*float64(cpu1-cpu0)/float64(wall), cpu1-cpu0, float64(rss)/1024, float64(peak)/1024)
	fmt.Fprintf(out, "this process (%s agents) meanwhile: cpu %.2f%% of one core\n", f.o.mode, 100*float64(self1-self0)/float64(wall))
	return nil
}

// cpuTime is utime+stime of process pid.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time: bad /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// rssKB is VmRSS of process pid.
func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// logSize is where serve's log ends now.
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// renderRounds reads the durations of the appliance's render rounds that
// rendered something, from its debug log after offset from.
func renderRounds(path string, from int64) []time.Duration {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	f.Seek(from, io.SeekStart)
	var out []time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg   string
			Hosts int
			Took  time.Duration
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "rendered" && l.Hosts > 0 {
			out = append(out, l.Took)
		}
	}
	return out
}

// ensureInotify makes room for n inotify instances (one per agent
// process); only root can raise the limit, and it stays raised.
func ensureInotify(n int, out io.Writer) error {
	const knob = "/proc/sys/fs/inotify/max_user_instances"
	b, err := os.ReadFile(knob)
	if err != nil {
		return err
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if limit >= n+256 {
		return nil
	}
	if err := os.WriteFile(knob, []byte(strconv.Itoa(n+256)), 0o644); err != nil {
		return fmt.Errorf("%d agent processes need %d inotify instances; %s is %d and cannot be raised: %w", n, n, knob, limit, err)
	}
	fmt.Fprintf(out, "raised %s from %d to %d\n", knob, limit, n+256)
	return nil
}
