package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// limiter allows at most n events in any sliding window of length per.
type limiter interface {
	allow(now time.Time) (bool, error)
}

// memLimiter counts events in this process.
type memLimiter struct {
	mu    sync.Mutex
	n     int
	per   time.Duration
	times []time.Time // ring buffer of the last n events
	next  int
}

func newMemLimiter(n int, per time.Duration) *memLimiter {
	return &memLimiter{n: n, per: per, times: make([]time.Time, 0, n)}
}

// allow records an event at now and reports whether it is within the limit.
// A refused event is not recorded.
func (l *memLimiter) allow(now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.times) < l.n {
		l.times = append(l.times, now)
		return true, nil
	}
	// The oldest of the last n events is at next.
	if now.Sub(l.times[l.next]) < l.per {
		return false, nil
	}
	l.times[l.next] = now
	l.next = (l.next + 1) % l.n
	return true, nil
}

// fileLimiter counts events in a file shared by every process using the
// same state directory, so one-shot "warden call" processes and a running
// "warden serve" count an agent's calls together.
type fileLimiter struct {
	mu   sync.Mutex
	path string
	n    int
	per  time.Duration
}

func newFileLimiter(dir, agent string, n int, per time.Duration) *fileLimiter {
	return &fileLimiter{path: filepath.Join(dir, "limits", agent), n: n, per: per}
}

// allow records an event at now if fewer than n events happened in the last
// per, under an exclusive lock on the file. The file holds the event times
// as big-endian Unix nanoseconds.
func (l *fileLimiter) allow(now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("rate limit: lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	buf, err := io.ReadAll(io.LimitReader(f, int64(8*(l.n+1))))
	if err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	cutoff := now.Add(-l.per).UnixNano()
	kept := make([]byte, 0, len(buf)+8)
	count := 0
	for i := 0; i+8 <= len(buf); i += 8 {
		if t := int64(binary.BigEndian.Uint64(buf[i:])); t > cutoff && t <= now.UnixNano() {
			kept = append(kept, buf[i:i+8]...)
			count++
		}
	}
	if count >= l.n {
		return false, nil
	}
	kept = binary.BigEndian.AppendUint64(kept, uint64(now.UnixNano()))
	if _, err := f.WriteAt(kept, 0); err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	if err := f.Truncate(int64(len(kept))); err != nil {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	return true, nil
}
