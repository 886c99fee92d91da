package engine

import (
	"sync"
	"time"
)

// limiter allows at most n events in any sliding window of length per.
type limiter struct {
	mu    sync.Mutex
	n     int
	per   time.Duration
	times []time.Time // ring buffer of the last n events
	next  int
}

func newLimiter(n int, per time.Duration) *limiter {
	return &limiter{n: n, per: per, times: make([]time.Time, 0, n)}
}

// allow records an event at now and reports whether it is within the limit.
// A refused event is not recorded.
func (l *limiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.times) < l.n {
		l.times = append(l.times, now)
		return true
	}
	// The oldest of the last n events is at next.
	if now.Sub(l.times[l.next]) < l.per {
		return false
	}
	l.times[l.next] = now
	l.next = (l.next + 1) % l.n
	return true
}
