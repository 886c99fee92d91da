// Command enginereport turns two sets of `go test -bench` output, one of a
// base commit and one of the current tree, into the side-by-side markdown
// table of bench/engine.sh: per benchmark the median time per call of each
// side, how far the runs stray from it, the ratio current/base and the
// allocations per call. bench/engine.sh runs it.
//
//	enginereport -base base.txt -current current.txt [-out report.md]
//	             [-control regexp] [-limit 1.05] [-title text] [-note text]...
//
// It exits 1 when a benchmark failed or nothing was measured on both sides
// (a ratio over -limit is only reported) and 2 on errors.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/bench/internal/gobench"
)

func main() {
	fatal := func(err error) {
		fmt.Fprintf(os.Stderr, "enginereport: %v\n", err)
		os.Exit(2)
	}
	basePath := flag.String("base", "", "go test -bench output of the base commit")
	curPath := flag.String("current", "", "go test -bench output of the current tree")
	out := flag.String("out", "", "also write the report to this file")
	title := flag.String("title", "Engine benchmarks: current tree against base", "the report's heading")
	control := flag.String("control", "", "rows whose name matches are controls: code the change does not touch, shown apart as a measure of noise")
	limit := flag.Float64("limit", 1.05, "current/base above which a row is named in the summary")
	var notes gobench.Notes
	flag.Var(&notes, "note", "a line printed under the heading (repeatable)")
	flag.Parse()
	if *basePath == "" || *curPath == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: enginereport -base FILE -current FILE [-out FILE] [-control REGEXP] [-limit RATIO] [-title TEXT] [-note TEXT]...")
		os.Exit(2)
	}
	var ctl *regexp.Regexp
	if *control != "" {
		var err error
		if ctl, err = regexp.Compile(*control); err != nil {
			fatal(fmt.Errorf("-control: %w", err))
		}
	}
	base, err := parseFile(*basePath)
	if err != nil {
		fatal(err)
	}
	cur, err := parseFile(*curPath)
	if err != nil {
		fatal(err)
	}
	var b strings.Builder
	complete := report(&b, *title, notes, base, cur, ctl, *limit)
	fmt.Print(b.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			fatal(err)
		}
	}
	if !complete {
		os.Exit(1)
	}
}

// side is one side's runs: by row name, then by unit, every value in order.
type side struct {
	runs   map[string]map[string][]float64
	order  []string // row names in order of first appearance
	failed []string
}

func (s *side) get(name, unit string) []float64 { return s.runs[name][unit] }

func parseFile(name string) (*side, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// parse reads go test -bench output, several packages' worth concatenated.
// A row is named after the last "pkg:" line's last element and the
// benchmark without "Benchmark" and without the GOMAXPROCS suffix:
// "engine.Call/read-4KiB/audit=false".
func parse(r io.Reader) (*side, error) {
	s := &side{runs: map[string]map[string][]float64{}}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		if name, ok := strings.CutPrefix(line, "--- FAIL: "); ok {
			s.failed = append(s.failed, qualify(pkg, strings.Fields(name)[0]))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue // not a result line (a benchmark's own log output)
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		name = qualify(pkg, name)
		if s.runs[name] == nil {
			s.runs[name] = map[string][]float64{}
			s.order = append(s.order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %v", n, line, err)
			}
			s.runs[name][f[i+1]] = append(s.runs[name][f[i+1]], v)
		}
	}
	return s, sc.Err()
}

func qualify(pkg, bench string) string {
	bench = strings.TrimPrefix(bench, "Benchmark")
	if pkg == "" {
		return bench
	}
	return pkg + "." + bench
}

// spread is how far the runs stray from their median, as a fraction of it:
// the largest distance of a run that is not an outlier (beyond 1.5
// interquartile ranges from the quartiles), the "±" old benchstat showed.
func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	q1, q3 := gobench.Median(s[:len(s)/2]), gobench.Median(s[(len(s)+1)/2:])
	lo, hi := q1-1.5*(q3-q1), q3+1.5*(q3-q1)
	m := gobench.Median(s)
	if m == 0 {
		return 0
	}
	d := 0.0
	for _, x := range s {
		if x >= lo && x <= hi {
			d = max(d, math.Abs(x-m))
		}
	}
	return d / m
}

// dur formats nanoseconds with three significant digits; 0 is "–".
func dur(ns float64) string {
	if ns <= 0 {
		return "–"
	}
	unit, scale := "ns", 1.0
	switch {
	case ns >= 1e9:
		unit, scale = "s", 1e9
	case ns >= 1e6:
		unit, scale = "ms", 1e6
	case ns >= 1e3:
		unit, scale = "µs", 1e3
	}
	return strconv.FormatFloat(ns/scale, 'f', max(0, 2-int(math.Floor(math.Log10(ns/scale)))), 64) + " " + unit
}

func pct(f float64) string { return fmt.Sprintf("±%.0f%%", 100*f) }

func allocs(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return strconv.FormatFloat(gobench.Median(v), 'f', -1, 64)
}

// report writes the markdown and tells whether the input was complete: no
// benchmark failed and at least one row was measured on both sides.
func report(w *strings.Builder, title string, notes []string, base, cur *side, control *regexp.Regexp, limit float64) bool {
	fmt.Fprintf(w, "# %s\n\n", title)
	for _, n := range notes {
		fmt.Fprintf(w, "%s  \n", n)
	}
	if len(notes) > 0 {
		w.WriteString("\n")
	}
	names := slices.Clone(cur.order)
	for _, n := range base.order {
		if cur.runs[n] == nil {
			names = append(names, n)
		}
	}
	isControl := func(n string) bool { return control != nil && control.MatchString(n) }
	// Rows to measure first, then the controls.
	slices.SortStableFunc(names, func(a, b string) int {
		switch ca, cb := isControl(a), isControl(b); {
		case ca == cb:
			return 0
		case cb:
			return -1
		}
		return 1
	})

	w.WriteString("Medians over the runs of the time per call (ns/op of go test, wall clock on one P; see the notes above). " +
		"±: every run but outliers is within this of the median. current/base: the ratio of the medians. " +
		"allocs/op: medians. Rows marked (control) run code outside Warden; their ratio shows the noise of this run.\n\n")
	w.WriteString("| benchmark | base ns/op | ± | current ns/op | ± | current/base | base allocs/op | current allocs/op |\n")
	w.WriteString("|---|---|---|---|---|---|---|---|\n")
	var logs, ctlLogs []float64
	var over []string
	worst, worstName := 0.0, ""
	for _, n := range names {
		bv, cv := base.get(n, "ns/op"), cur.get(n, "ns/op")
		bm, cm := gobench.Median(bv), gobench.Median(cv)
		ratio := "–"
		if bm > 0 && cm > 0 {
			r := cm / bm
			ratio = fmt.Sprintf("%.3f", r)
			if isControl(n) {
				ctlLogs = append(ctlLogs, math.Log(r))
			} else {
				logs = append(logs, math.Log(r))
				if r > limit {
					over = append(over, fmt.Sprintf("%s (%.3f)", n, r))
				}
			}
		}
		bs, cs := "–", "–"
		if len(bv) > 1 {
			bs = pct(spread(bv))
		}
		if len(cv) > 1 {
			cs = pct(spread(cv))
		}
		for _, f := range []float64{spread(bv), spread(cv)} {
			if f > worst {
				worst, worstName = f, n
			}
		}
		label := n
		if isControl(n) {
			label += " (control)"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
			dur(bm), bs, dur(cm), cs, ratio,
			allocs(base.get(n, "allocs/op")), allocs(cur.get(n, "allocs/op")))
	}

	w.WriteString("\n")
	geo := func(l []float64) string {
		if len(l) == 0 {
			return "–"
		}
		s := 0.0
		for _, x := range l {
			s += x
		}
		return fmt.Sprintf("%.3f", math.Exp(s/float64(len(l))))
	}
	fmt.Fprintf(w, "Geometric mean of current/base: %s over %d rows", geo(logs), len(logs))
	if control != nil {
		fmt.Fprintf(w, "; controls: %s over %d rows", geo(ctlLogs), len(ctlLogs))
	}
	w.WriteString(".  \n")
	if len(over) > 0 {
		fmt.Fprintf(w, "Over %.2f: %s.  \n", limit, strings.Join(over, ", "))
	} else if len(logs) > 0 {
		fmt.Fprintf(w, "No row over %.2f.  \n", limit)
	}
	if worstName != "" {
		fmt.Fprintf(w, "Widest spread: %s %s", worstName, pct(worst))
		if worst > 0.03 {
			w.WriteString(" — more than ±3%: a difference of a few percent is not measurable in this run; raise COUNT or BENCHTIME, or run on a quieter machine")
		}
		w.WriteString(".\n")
	}

	w.WriteString("\nEvery run (ns/op), in the order run:\n\n| benchmark | base | current |\n|---|---|---|\n")
	join := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(x, 'f', -1, 64)
		}
		return strings.Join(s, " ")
	}
	for _, n := range names {
		fmt.Fprintf(w, "| %s | %s | %s |\n", n, join(base.get(n, "ns/op")), join(cur.get(n, "ns/op")))
	}

	complete := len(logs)+len(ctlLogs) > 0
	if !complete {
		w.WriteString("\n**No benchmark was measured on both sides.**\n")
	}
	for _, s := range []struct {
		name string
		side *side
	}{{"base", base}, {"current", cur}} {
		if len(s.side.failed) > 0 {
			fmt.Fprintf(w, "\n**Failed (%s):** %s\n", s.name, strings.Join(s.side.failed, ", "))
			complete = false
		}
	}
	return complete
}
