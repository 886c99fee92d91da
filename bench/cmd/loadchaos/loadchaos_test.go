package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestReasonOf(t *testing.T) {
	tests := []struct {
		name string
		res  *mcp.CallToolResult
		want string
	}{
		{"success", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: `{"bytes":3}`}}}, okReason},
		{"structured", &mcp.CallToolResult{IsError: true, StructuredContent: map[string]any{"reason": "target-changed"}, Content: []mcp.Content{&mcp.TextContent{Text: "x (reason: deny-rule)"}}}, "target-changed"},
		{"text only", &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "The disk is full. (reason: disk-full; audit: 01J)"}}}, "disk-full"},
		{"no reason", &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "boom"}}}, "no-reason"},
	}
	for _, tt := range tests {
		if got := reasonOf(tt.res); got != tt.want {
			t.Errorf("%s: reasonOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestChangeMade(t *testing.T) {
	made := &mcp.CallToolResult{IsError: true, StructuredContent: map[string]any{"decision": "allow", "reason": "audit-unavailable", "message": "The change was made, but Warden could not record its outcome in the audit log; tell the operator."}}
	stopped := &mcp.CallToolResult{IsError: true, StructuredContent: map[string]any{"decision": "deny", "reason": "audit-unavailable", "message": "The call was stopped because Warden could not write its audit log; tell the operator."}}
	changed := &mcp.CallToolResult{IsError: true, StructuredContent: map[string]any{"decision": "allow", "reason": "target-changed", "message": "x"}}
	if !changeMade(made) || changeMade(stopped) || changeMade(changed) || changeMade(&mcp.CallToolResult{}) {
		t.Errorf("changeMade: made %v, stopped %v, target-changed %v; want true, false, false", changeMade(made), changeMade(stopped), changeMade(changed))
	}
}

func TestTransportClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("calling: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf(`calling "tools/call": failed to connect (session ID: X): %w`, mcp.ErrSessionMissing), "session-gone"},
		{errors.New(`Post "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`), "connection-refused"},
		{errors.New(`calling "tools/call": standalone SSE stream: exceeded 0 retries without progress (session ID: X)`), "connection-lost"},
		{errors.New(`Post "http://127.0.0.1:1/": EOF`), "connection-lost"},
		{fmt.Errorf("%w: calling %q: x", mcp.ErrConnectionClosed, "tools/call"), "connection-lost"},
		{errors.New(`sending "initialize": Service Unavailable`), "http-503"},
		{errors.New(`sending "initialize": Too Many Requests`), "http-429"},
		{errors.New("something new"), "other"},
	}
	for _, tt := range tests {
		if got := transportClass(tt.err); got != tt.want {
			t.Errorf("transportClass(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestVerifyLines(t *testing.T) {
	ledger := map[string]verdict{"s01 own 1": acked, "s01 own 2": unclear, "s01 own 3": refused, "s01 own 4": acked}
	tests := []struct {
		name, content string
		want          []string // substrings, one per problem, in order
	}{
		{"all there", "s01 own 1\ns01 own 4\n", nil},
		{"unclear one landed", "s01 own 1\ns01 own 2\ns01 own 4\n", nil},
		{"acknowledged lost", "s01 own 1\n", []string{`acknowledged line "s01 own 4" is missing`}},
		{"refused applied", "s01 own 1\ns01 own 3\ns01 own 4\n", []string{`"s01 own 3" is there though its append was refused (audit-unavailable)`}},
		{"twice", "s01 own 1\ns01 own 1\ns01 own 4\n", []string{`"s01 own 1" is there 2 times`}},
		{"torn", "s01 own 1\ns01 own 4\ns01 o", []string{"does not end with a newline", `line "s01 o" was never appended`}},
		{"empty file", "", []string{`"s01 own 1" is missing`, `"s01 own 4" is missing`}},
	}
	for _, tt := range tests {
		got := verifyLines("f.log", tt.content, ledger, map[string]string{"s01 own 3": "audit-unavailable"}, 10)
		if len(got) != len(tt.want) {
			t.Errorf("%s: verifyLines = %q, want %d problems", tt.name, got, len(tt.want))
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], "f.log: ") || !strings.Contains(got[i], tt.want[i]) {
				t.Errorf("%s: problem %d = %q, want it to contain %q", tt.name, i, got[i], tt.want[i])
			}
		}
	}
	many := map[string]verdict{}
	for i := range 20 {
		many[fmt.Sprintf("l%02d", i)] = acked
	}
	if got := verifyLines("f", "", many, nil, 3); len(got) != 4 || got[3] != "f: … and 17 more" {
		t.Errorf("verifyLines with 20 problems, max 3 = %q", got)
	}
}

func TestVerifyRows(t *testing.T) {
	inserted := map[string]verdict{"s02:1": acked, "s02:2": refused, "s02:3": unclear, "s02:4": acked}
	if got := verifyRows(map[string]int{"s02:1": 1, "s02:4": 1}, inserted, nil, 10); len(got) != 0 {
		t.Errorf("clean rows: %q", got)
	}
	got := verifyRows(map[string]int{"s02:1": 2, "s02:2": 1, "s09:1": 1}, inserted, map[string]string{"s02:2": "timeout"}, 10)
	want := []string{"row s02:1 is there 2 times", "row s02:2 is there though its insert was refused (timeout)", "row s09:1 was never inserted", "acknowledged row s02:4 is missing"}
	if !slices.Equal(got, want) {
		t.Errorf("verifyRows = %q, want %q", got, want)
	}
}

func TestLedgerValues(t *testing.T) {
	l := newLedger()
	l.value("own", "a", acked)
	l.value("own", "b", refused) // a failed call changes nothing
	if got := setString(l.values["own"]); got != "{a}" {
		t.Errorf("after a refused change: %s, want {a}", got)
	}
	l.value("own", "c", unclear) // maybe done, maybe not
	if got := setString(l.values["own"]); got != "{a, c}" {
		t.Errorf("after an unclear change: %s, want {a, c}", got)
	}
	if !l.resync("own", "c") || setString(l.values["own"]) != "{c}" || len(l.notes) != 0 {
		t.Errorf("resync to a possible value: values %s, notes %q", setString(l.values["own"]), l.notes)
	}
	if l.resync("own", "z") || len(l.notes) != 1 || !strings.Contains(l.notes[0], `read back "z"`) {
		t.Errorf("resync to an impossible value was not noted: %q", l.notes)
	}
	l.value("own", "d", acked)
	if got := setString(l.values["own"]); got != "{d}" {
		t.Errorf("after an acknowledged change: %s, want {d}", got)
	}
	l.line("f", "x", acked, "")
	l.line("f", "y", unclear, "")
	l.row("s01:1", refused, "disk-full")
	if a, r, u := l.counts(); a != 1 || r != 1 || u != 1 {
		t.Errorf("counts = %d acked, %d refused, %d unclear; want 1, 1, 1", a, r, u)
	}
}

func TestBoardValue(t *testing.T) {
	board := "[s01] 4\n[s11] 17\n[s21] x\n"
	for _, tt := range []struct {
		key  string
		want int
		ok   bool
	}{{"[s01]", 4, true}, {"[s11]", 17, true}, {"[s21]", 0, false}, {"[s05]", 0, false}} {
		if n, ok := boardValue(board, tt.key); n != tt.want || ok != tt.ok {
			t.Errorf("boardValue(%s) = %d, %v; want %d, %v", tt.key, n, ok, tt.want, tt.ok)
		}
	}
}

func TestTally(t *testing.T) {
	start := time.Unix(1000, 0)
	tl := newTally(start)
	tl.record("read", okReason, start.Add(time.Second))
	tl.record("read", "transport:connection-refused", start.Add(2*time.Second))
	tl.record("append", "target-changed", start.Add(12*time.Second))
	tl.record("append", "target-changed", start.Add(25*time.Second))
	tl.kill(start.Add(11 * time.Second))
	tl.rss(start.Add(3*time.Second), 40e6)
	tl.disk(start.Add(13*time.Second), 0.5)
	tl.disk(start.Add(14*time.Second), 0.97)
	if len(tl.windows) != 3 {
		t.Fatalf("%d windows, want 3", len(tl.windows))
	}
	w0, w1 := tl.windows[0], tl.windows[1]
	if w0.calls != 2 || w0.errors != 1 || len(w0.rss) != 1 || w1.calls != 1 || w1.kills != 1 || w1.diskFull != 0.97 {
		t.Errorf("windows = %+v", tl.windows)
	}
	if got := tl.byReason(); len(got) != 2 || got["target-changed"] != 2 || got["transport:connection-refused"] != 1 {
		t.Errorf("byReason = %v", got)
	}
	if got := reasonList(tl.byOp["append"]); got != "target-changed 2" {
		t.Errorf("reasonList = %q", got)
	}
	if got := sortedByCount(map[string]int{"b": 1, "a": 1, "c": 5}); !slices.Equal(got, []string{"c", "a", "b"}) {
		t.Errorf("sortedByCount = %v", got)
	}
}

func TestQuantile(t *testing.T) {
	ds := []time.Duration{40 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	if p50, p99 := quantile(ds, 0.5), quantile(ds, 0.99); p50 != "20ms" || p99 != "40ms" {
		t.Errorf("quantile = %s, %s; want 20ms, 40ms", p50, p99)
	}
	if got := quantile([]time.Duration{1234567 * time.Nanosecond}, 0.5); got != "1.23ms" {
		t.Errorf("quantile of 1.234567ms = %s, want 1.23ms", got)
	}
	if got := quantile(nil, 0.5); got != "–" {
		t.Errorf("quantile(nil) = %s", got)
	}
}

func TestSummarize(t *testing.T) {
	if got := summarize([]int64{5, 1, 9, 3}); got != (stats{min: 1, median: 3, max: 9}) {
		t.Errorf("summarize = %+v", got)
	}
	if got := summarize(nil); got != (stats{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

func TestRuledOutFailures(t *testing.T) {
	byOp := map[string]map[string]int{
		"read":    {okReason: 10, "disk-full": 2, "not-found": 1},
		"write":   {okReason: 5, "disk-full": 3, "target-changed": 1},
		"append":  {"audit-unavailable" + changeMadeSuffix: 1},
		"connect": {"internal-error": 4, transportPrefix + "connection-refused": 9, transportPrefix + "http-503": 2},
		"move":    {"exists": 1, "internal-error": 1},
	}
	got := ruledOutFailures(byOp, ruledOut)
	want := []string{
		"append audit-unavailable (change made) 1 (" + ruledOut[0].why + ")",
		"read disk-full 2 (" + ruledOut[1].why + ")",
		"write target-changed 1 (" + ruledOut[2].why + ")",
		"move exists 1 (" + ruledOut[3].why + ")",
		"move internal-error 1 (" + ruledOut[5].why + ")",
		"connect transport:http-503 2 (" + ruledOut[6].why + ")",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ruledOutFailures =\n%q\nwant\n%q", got, want)
	}
	if got := ruledOutFailures(map[string]map[string]int{"write": {okReason: 3, "disk-full": 2}, "delete": {"not-found": 1}}, ruledOut); len(got) != 0 {
		t.Errorf("a full disk refusing writes was ruled out: %q", got)
	}
}

func TestValidate(t *testing.T) {
	base := config{warden: "warden", duration: time.Minute, sessions: 32, fillers: 3, killMin: 10 * time.Second, killMax: 20 * time.Second, callTimeout: time.Second}
	c := base
	c.noTmpfs = true
	if err := c.validate(); err != nil || c.fillers != 0 || c.seed == 0 || !strings.HasPrefix(c.warden, "/") {
		t.Errorf("-no-tmpfs: err %v, fillers %d, seed %d, warden %q; want no error, no fillers, a seed, an absolute path", err, c.fillers, c.seed, c.warden)
	}
	for name, change := range map[string]func(*config){
		"no warden":        func(c *config) { c.warden = "" },
		"fillers=sessions": func(c *config) { c.fillers = 32 },
		"kill-max<min":     func(c *config) { c.killMax = time.Second },
		"no duration":      func(c *config) { c.duration = 0 },
	} {
		c := base
		c.noTmpfs = true
		change(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: validate accepted %+v", name, c)
		}
	}
	if os.Geteuid() != 0 {
		c := base
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), "-no-tmpfs") {
			t.Errorf("not root, with a tmpfs: validate = %v, want an error naming -no-tmpfs", err)
		}
	}
}
