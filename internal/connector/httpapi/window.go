package httpapi

import (
	"sync"
	"time"
)

// window counts calls in a sliding time window: at most n per period.
type window struct {
	mu     sync.Mutex
	n      int
	period time.Duration
	times  []time.Time // the calls inside the window, oldest first
}

func newWindow(n int, period time.Duration) *window {
	return &window{n: n, period: period}
}

// allow records a call at now if it fits, and reports whether it did.
func (w *window) allow(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	cut := 0
	for cut < len(w.times) && now.Sub(w.times[cut]) >= w.period {
		cut++
	}
	w.times = w.times[cut:]
	if len(w.times) >= w.n {
		return false
	}
	w.times = append(w.times, now)
	return true
}
