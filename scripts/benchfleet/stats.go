package main

import (
	"fmt"
	"slices"
	"time"
)

// summary formats p50, p99 and max of a set of durations.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("p50 %v, p99 %v, max %v", pct(s, 50), pct(s, 99), s[len(s)-1].Round(100*time.Microsecond))
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))].Round(100 * time.Microsecond)
}
