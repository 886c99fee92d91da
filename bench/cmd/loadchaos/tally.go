package main

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// windowLen is the length of one line of the report's timeline.
const windowLen = 10 * time.Second

// okReason is the tally's key for a call that succeeded.
const okReason = "ok"

// transportPrefix marks failures of the call itself (no tool result): the
// server was killed, refused the session, or timed out.
const transportPrefix = "transport:"

// tally counts calls by operation and outcome, overall and per window.
type tally struct {
	mu      sync.Mutex
	start   time.Time
	byOp    map[string]map[string]int  // op → outcome → calls
	lat     map[string][]time.Duration // op → every call's latency
	windows []window
	samples map[string]string // failure (reason or transport class) → its first message
}

// window is one windowLen of the run.
type window struct {
	calls, errors, kills int
	rss                  []int64
	diskFull             float64 // the highest share of the disk in use
	diskSeen             bool
}

func newTally(start time.Time) *tally {
	return &tally{start: start, byOp: map[string]map[string]int{}, lat: map[string][]time.Duration{}, samples: map[string]string{}}
}

func (t *tally) window(at time.Time) *window {
	i := max(0, int(at.Sub(t.start)/windowLen))
	for len(t.windows) <= i {
		t.windows = append(t.windows, window{})
	}
	return &t.windows[i]
}

// record counts one call of op that ended with outcome (okReason, a reason
// code, or transportPrefix+class).
func (t *tally) record(op, outcome string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.byOp[op]
	if m == nil {
		m = map[string]int{}
		t.byOp[op] = m
	}
	m[outcome]++
	w := t.window(at)
	w.calls++
	if outcome != okReason {
		w.errors++
	}
}

// latency records how long one call of op took, whatever its outcome.
func (t *tally) latency(op string, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lat[op] = append(t.lat[op], d)
}

// sample keeps the first message of each kind of failure.
func (t *tally) sample(outcome, msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.samples[outcome]; !ok {
		t.samples[outcome] = msg
	}
}

func (t *tally) kill(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.window(at).kills++
}

func (t *tally) disk(at time.Time, used float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.window(at)
	w.diskFull = max(w.diskFull, used)
	w.diskSeen = true
}

func (t *tally) rss(at time.Time, bytes int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.window(at)
	w.rss = append(w.rss, bytes)
}

// ops returns the operations seen, sorted.
func (t *tally) ops() []string {
	return slices.Sorted(maps.Keys(t.byOp))
}

// byReason sums the failures over every operation.
func (t *tally) byReason() map[string]int {
	out := map[string]int{}
	for _, m := range t.byOp {
		for r, n := range m {
			if r != okReason {
				out[r] += n
			}
		}
	}
	return out
}

var reasonInText = regexp.MustCompile(`\(reason: ([a-z0-9-]+)`)

// reasonOf is a tool result's reason code: okReason for a success, the
// structured "reason" of a refusal (mcpserver puts it there), else the
// "(reason: CODE" its text ends with, else "no-reason".
func reasonOf(res *mcp.CallToolResult) string {
	if !res.IsError {
		return okReason
	}
	if m, ok := res.StructuredContent.(map[string]any); ok {
		if r, ok := m["reason"].(string); ok && r != "" {
			return r
		}
	}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			if m := reasonInText.FindStringSubmatch(tc.Text); m != nil {
				return m[1]
			}
		}
	}
	return "no-reason"
}

// changeMadeSuffix marks, in the tally, a failure after the change was made.
const changeMadeSuffix = " (change made)"

// changeMade reports a refusal that came after the change was made: the
// engine answers audit-unavailable when the outcome's audit record cannot
// be written, keeping the allowing decision and saying so in the message.
// Anything else that failed changed nothing.
func changeMade(res *mcp.CallToolResult) bool {
	if !res.IsError || reasonOf(res) != "audit-unavailable" {
		return false
	}
	m, _ := res.StructuredContent.(map[string]any)
	decision, _ := m["decision"].(string)
	message, _ := m["message"].(string)
	return decision == "allow" || strings.Contains(message, "change was made")
}

// transportClass names why a call or a connection failed without a tool
// result. The go-sdk client reports HTTP statuses by their text.
func transportClass(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, mcp.ErrSessionMissing):
		return "session-gone"
	case strings.Contains(msg, "connection refused"):
		return "connection-refused"
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"),
		strings.Contains(msg, "EOF"), strings.Contains(msg, "standalone SSE stream"),
		errors.Is(err, mcp.ErrConnectionClosed):
		return "connection-lost"
	}
	for _, s := range []struct{ text, class string }{
		{"Service Unavailable", "http-503"},
		{"Too Many Requests", "http-429"},
		{"Unauthorized", "http-401"},
		{"Forbidden", "http-403"},
		{"Not Found", "http-404"},
		{"Request Entity Too Large", "http-413"},
		{"Bad Request", "http-400"},
		{"Internal Server Error", "http-500"},
	} {
		if strings.Contains(msg, s.text) {
			return s.class
		}
	}
	return "other"
}
