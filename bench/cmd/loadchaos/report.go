package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// report is everything one run counted, and the checks after it.
type report struct {
	cfg            config
	fx             *fixture
	srv            *server
	started, ended time.Time
	tally          *tally
	ledger         *ledger
	checks         []check

	mu  sync.Mutex
	hwm int64 // the highest VmHWM of any server process
}

func (r *report) passed() bool {
	for _, c := range r.checks {
		if !c.ok {
			return false
		}
	}
	return len(r.checks) > 0
}

func (r *report) print(w io.Writer) {
	c, t := r.cfg, r.tally
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	title := "SIGKILLs and a full disk"
	if c.fillers == 0 {
		title = "SIGKILLs, no full disk"
	}
	if c.killMin == 0 {
		title = strings.Replace(title, "SIGKILLs", "no kills", 1)
	}
	p("## loadchaos: warden serve --http with %d sessions, %s", c.sessions, title)
	p("")
	p("- started %s UTC, ran %s (calls in flight at the end finished)", r.started.UTC().Format("2006-01-02 15:04"), r.ended.Sub(r.started).Round(100*time.Millisecond))
	for _, n := range c.notes {
		p("- %s", n)
	}
	kills := "never killed"
	if c.killMin > 0 {
		kills = fmt.Sprintf("SIGKILLed every %s–%s, none in the last %s: %s", c.killMin, c.killMax, c.quietTail, plural(len(r.srv.kills), "kill"))
	}
	p("- %d sessions over %d agents (one token each), %d of them fillers; seed %d; server %s", c.sessions, numAgents, c.fillers, c.seed, kills)
	where := "the root, the state directory and the database"
	if c.stateOnDisk {
		where = "the root and the database (state directory elsewhere)"
	}
	p("- disk: %s holding %s", r.fx.tmpfsNote(), where)
	p("")

	p("### Calls")
	p("")
	p("| operation | calls | ok | failed | p50 | p99 | failures by reason |")
	p("|---|---:|---:|---:|---:|---:|---|")
	var all, allOK int
	var allLat []time.Duration
	for _, op := range t.ops() {
		m := t.byOp[op]
		n := sum(m)
		all += n
		allOK += m[okReason]
		allLat = append(allLat, t.lat[op]...)
		p("| %s | %d | %d | %d | %s | %s | %s |", op, n, m[okReason], n-m[okReason], quantile(t.lat[op], 0.5), quantile(t.lat[op], 0.99), reasonList(m))
	}
	p("| **all** | %d | %d | %d | %s | %s | |", all, allOK, all-allOK, quantile(allLat, 0.5), quantile(allLat, 0.99))
	p("")
	p("A reason is the code in the tool result; `transport:` marks a call that got no result (server killed, session gone after a restart, refused by HTTP). `connect` counts opening sessions. p50 and p99 are the latencies of the calls (ok or not) as the client saw them.")
	p("")
	p("### Failures by reason")
	p("")
	p("| reason | calls | operations | first message |")
	p("|---|---:|---|---|")
	byReason := t.byReason()
	for _, reason := range sortedByCount(byReason) {
		var ops []string
		for _, op := range t.ops() {
			if n := t.byOp[op][reason]; n > 0 {
				ops = append(ops, fmt.Sprintf("%s %d", op, n))
			}
		}
		p("| %s | %d | %s | %s |", reason, byReason[reason], strings.Join(ops, ", "), cell(clipText(t.samples[reason], 200)))
	}
	if len(byReason) == 0 {
		p("| none | 0 | | |")
	}
	p("")

	p("### Over time: server memory (VmRSS) and disk use, sampled every second")
	p("")
	var rss []int64
	for _, win := range t.windows {
		rss = append(rss, win.rss...)
	}
	s := summarize(rss)
	p("%d samples: min %s, median %s, max %s; highest VmHWM of a server process %s. Starts: %d, listening after %s (median; max %s).",
		len(rss), mb(s.min), mb(s.median), mb(s.max), mb(r.hwm), len(r.srv.ready), durMedian(r.srv.ready), durMax(r.srv.ready))
	p("")
	p("| time | RSS min | RSS median | RSS max | calls | failed | kills | disk used (max) |")
	p("|---|---:|---:|---:|---:|---:|---:|---:|")
	for i, win := range t.windows {
		ws := summarize(win.rss)
		disk := "–"
		if win.diskSeen {
			disk = fmt.Sprintf("%.0f %%", 100*win.diskFull)
		}
		p("| %d–%d s | %s | %s | %s | %d | %d | %d | %s |", i*int(windowLen/time.Second), (i+1)*int(windowLen/time.Second), mb(ws.min), mb(ws.median), mb(ws.max), win.calls, win.errors, win.kills, disk)
	}
	p("")

	p("### Checks")
	p("")
	ack, ref, unc := r.ledger.counts()
	p("Ledger: %d appends and inserts acknowledged, %d refused, %d unclear (no result: in flight at a kill). The upstream echo server answered %d requests; the server wrote %d lines to stderr.", ack, ref, unc, r.fx.echoHits.Load(), r.srv.stderr.count())
	p("")
	p("| check | result | detail |")
	p("|---|---|---|")
	for _, ch := range r.checks {
		res := "**FAIL**"
		if ch.ok {
			res = "pass"
		}
		p("| %s | %s | %s |", ch.name, res, cell(strings.Join(ch.detail, "; ")))
	}
	verdict := "all checks passed"
	if !r.passed() {
		verdict = "**a check failed**"
	}
	p("")
	p("Result: %s.", verdict)
}

// reasonList is "reason count, …", the most frequent first.
func reasonList(m map[string]int) string {
	var parts []string
	for _, r := range sortedByCount(m) {
		if r != okReason {
			parts = append(parts, fmt.Sprintf("%s %d", r, m[r]))
		}
	}
	return strings.Join(parts, ", ")
}

// sortedByCount returns m's keys, the largest count first, ties by name.
func sortedByCount(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	return keys
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// stats summarise RSS samples.
type stats struct{ min, median, max int64 }

func summarize(xs []int64) stats {
	if len(xs) == 0 {
		return stats{}
	}
	s := slices.Sorted(slices.Values(xs))
	return stats{min: s[0], median: s[(len(s)-1)/2], max: s[len(s)-1]}
}

func mb(b int64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

func durMedian(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	s := slices.Sorted(slices.Values(ds))
	return s[(len(s)-1)/2].Round(time.Millisecond).String()
}

func durMax(ds []time.Duration) string {
	if len(ds) == 0 {
		return "–"
	}
	return slices.Max(ds).Round(time.Millisecond).String()
}

// cell makes text safe in a markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// quantile is the nearest-rank q-quantile of ds, rounded for the table.
func quantile(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "–"
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(q*float64(len(s))+0.999999) - 1
	d := s[max(0, min(i, len(s)-1))]
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}
