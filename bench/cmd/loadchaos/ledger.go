package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// A verdict is what the client knows of one change it asked for.
type verdict int

const (
	acked   verdict = iota + 1 // the tool result said it was done
	refused                    // a tool error: a failed call must change nothing
	unclear                    // no tool result (killed, timed out): done or not
)

// ledger is the client side's record of every change it asked for, to
// check the files and the database against after the run.
type ledger struct {
	mu     sync.Mutex
	lines  map[string]map[string]verdict // file → appended line → verdict
	values map[string]map[string]bool    // item → the values it may hold now
	rows   map[string]verdict            // "session:seq" → insert's verdict
	why    map[string]string             // refused line or row → its reason code
	notes  []string                      // problems seen during the run
}

func newLedger() *ledger {
	return &ledger{lines: map[string]map[string]verdict{}, values: map[string]map[string]bool{}, rows: map[string]verdict{}, why: map[string]string{}}
}

// line records an append of line (without its newline) to file; reason is
// the code of a refusal. Lines are unique over the run.
func (l *ledger) line(file, line string, v verdict, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v == refused {
		l.why[line] = reason
	}
	m := l.lines[file]
	if m == nil {
		m = map[string]verdict{}
		l.lines[file] = m
	}
	m[line] = v
}

// value records a change of item (a whole file, or one session's line of a
// board) to value. Acknowledged, it is the only value the item may hold;
// unclear, it may hold it besides the earlier ones; refused, nothing
// changes.
func (l *ledger) value(item, value string, v verdict) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch v {
	case acked:
		l.values[item] = map[string]bool{value: true}
	case unclear:
		if l.values[item] == nil {
			l.values[item] = map[string]bool{}
		}
		l.values[item][value] = true
	}
}

// resync settles an item to the value read back after an unclear change,
// and says whether that value was one it could hold.
func (l *ledger) resync(item, value string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := l.values[item][value]
	if !ok {
		l.notes = append(l.notes, fmt.Sprintf("%s: read back %q after a crash; expected one of %s", item, value, setString(l.values[item])))
	}
	l.values[item] = map[string]bool{value: true}
	return ok
}

// note records a problem seen during the run.
func (l *ledger) note(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, fmt.Sprintf(format, args...))
}

func (l *ledger) row(key string, v verdict, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v == refused {
		l.why[key] = reason
	}
	l.rows[key] = v
}

// verifyLines checks one append-only file's content against its ledger:
// every acknowledged line is there exactly once, no refused line is, no
// line appears twice, and there is no line nobody appended (a torn or
// foreign write). It returns the problems, at most max of them (and a
// count of the rest).
func verifyLines(file, content string, appended map[string]verdict, why map[string]string, max int) []string {
	var probs []string
	add := func(format string, args ...any) {
		probs = append(probs, fmt.Sprintf("%s: ", file)+fmt.Sprintf(format, args...))
	}
	seen := map[string]int{}
	body, torn := strings.CutSuffix(content, "\n")
	if content != "" && !torn {
		add("does not end with a newline (a torn append)")
	}
	if content != "" {
		for _, ln := range strings.Split(body, "\n") {
			seen[ln]++
		}
	}
	for _, ln := range slices.Sorted(maps.Keys(seen)) {
		n := seen[ln]
		switch v, ok := appended[ln]; {
		case !ok:
			add("line %q was never appended", clipText(ln, 60))
		case v == refused:
			add("line %q is there though its append was refused (%s)", ln, why[ln])
		case n > 1:
			add("line %q is there %d times", ln, n)
		}
	}
	for _, ln := range slices.Sorted(maps.Keys(appended)) {
		if appended[ln] == acked && seen[ln] == 0 {
			add("acknowledged line %q is missing", ln)
		}
	}
	if len(probs) > max {
		probs = append(probs[:max], fmt.Sprintf("%s: … and %d more", file, len(probs)-max))
	}
	return probs
}

// verifyRows is verifyLines for the inserted rows ("session:seq" keys).
func verifyRows(present map[string]int, inserted map[string]verdict, why map[string]string, max int) []string {
	var probs []string
	for _, k := range slices.Sorted(maps.Keys(present)) {
		switch v, ok := inserted[k]; {
		case !ok:
			probs = append(probs, fmt.Sprintf("row %s was never inserted", k))
		case v == refused:
			probs = append(probs, fmt.Sprintf("row %s is there though its insert was refused (%s)", k, why[k]))
		case present[k] > 1:
			probs = append(probs, fmt.Sprintf("row %s is there %d times", k, present[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(inserted)) {
		if inserted[k] == acked && present[k] == 0 {
			probs = append(probs, fmt.Sprintf("acknowledged row %s is missing", k))
		}
	}
	if len(probs) > max {
		probs = append(probs[:max], fmt.Sprintf("… and %d more", len(probs)-max))
	}
	return probs
}

// counts returns how many changes of each verdict the ledger holds.
func (l *ledger) counts() (ackedN, refusedN, unclearN int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	count := func(v verdict) {
		switch v {
		case acked:
			ackedN++
		case refused:
			refusedN++
		case unclear:
			unclearN++
		}
	}
	for _, m := range l.lines {
		for _, v := range m {
			count(v)
		}
	}
	for _, v := range l.rows {
		count(v)
	}
	return
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func setString(m map[string]bool) string {
	return "{" + strings.Join(slices.Sorted(maps.Keys(m)), ", ") + "}"
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
