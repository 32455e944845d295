package engine

import (
	"context"
	"time"
)

// limiter is a token bucket: limit tokens a second, at most burst saved up.
// It is used by one worker goroutine only, so it needs no lock.
type limiter struct {
	limit  float64
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(limit float64, burst int) *limiter {
	if limit <= 0 {
		return nil
	}
	b := float64(max(burst, 1))
	return &limiter{limit: limit, burst: b, tokens: b}
}

// wait takes one token, sleeping until there is one. A nil limiter never waits.
func (l *limiter) wait(ctx context.Context, now time.Time) error {
	if l == nil {
		return nil
	}
	l.refill(now)
	if l.tokens < 1 {
		need := time.Duration((1 - l.tokens) / l.limit * float64(time.Second))
		if !sleep(ctx.Done(), need) {
			return ctx.Err()
		}
		l.refill(now.Add(need))
	}
	l.tokens--
	return nil
}

func (l *limiter) refill(now time.Time) {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.limit)
	}
	l.last = now
}
