// Command sqlreport turns the output of BenchmarkSQL (bench/sqlbench) into
// the markdown table of bench/README.md, "SQL (issue 4)": the median
// ns/op of each path over the -count runs, the ratio warden/direct and
// whether the targets hold. bench/sql.sh runs it.
//
//	sqlreport [-in go-test-output] [-out report.md] [-title text] [-note text]...
package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/bench/internal/gobench"
)

// Targets from issue 4.
const (
	maxAnalysisNs = 1e6 // the analysis adds well under a millisecond
	maxScanRatio  = 1.5 // a 10,000-row scan through Warden: at most 1.5× direct
	scanQuery     = "scan-10000"
)

var (
	dbOrder    = []string{"sqlite", "postgres"}
	queryOrder = []string{"point", "scan-10000", "join-agg"}
	paths      = []string{"direct", "floor", "warden", "analysis"}
)

func main() {
	gobench.Main("sqlreport", "SQL benchmark (issue 4)", func(w *strings.Builder, r io.Reader, title string, notes []string) (bool, error) {
		runs, failed, err := parse(r)
		if err != nil {
			return false, err
		}
		return report(w, title, notes, runs, failed), nil
	})
}

// key names one sub-benchmark: db/query/path.
type key struct{ db, query, path string }

// runs are the values of one metric (ns/op, cpu-ns/op) of each
// sub-benchmark, in run order.
type runs map[string]map[key][]float64

func (r runs) get(unit string, k key) []float64 { return r[unit][k] }

// parse collects every metric of every BenchmarkSQL/db/query/path line
// and the names of failed benchmarks.
func parse(r io.Reader) (runs, []string, error) {
	res, err := gobench.Parse(r, "BenchmarkSQL")
	if err != nil {
		return nil, nil, err
	}
	all := runs{}
	for unit, byName := range res.Runs {
		for name, v := range byName {
			parts := strings.Split(name, "/")
			if len(parts) != 3 {
				continue
			}
			if all[unit] == nil {
				all[unit] = map[key][]float64{}
			}
			all[unit][key{parts[0], parts[1], parts[2]}] = v
		}
	}
	return all, res.Failed, nil
}

var (
	median = gobench.Median
	dur    = gobench.Dur
)

// report writes the markdown and tells whether the input was complete: no
// benchmark failed and there were results. Missed targets are only shown.
func report(w *strings.Builder, title string, extra []string, all runs, failed []string) bool {
	fmt.Fprintf(w, "# %s\n\n", title)
	for _, n := range extra {
		fmt.Fprintf(w, "%s  \n", n)
	}
	if len(extra) > 0 {
		w.WriteString("\n")
	}
	w.WriteString("Medians over the runs of wall-clock time per call. direct: the driver the usual way (database/sql; pgx Query and " +
		"rows.Values), every row read into Go values and the result encoded as JSON. floor: the low-level driver calls Warden's " +
		"connector makes, and the same JSON, with no checks. warden: engine.Call of shop_query (arguments, analysis, policy, " +
		"query, JSON, audit record). analysis: the statement's analysis alone. \"Warden adds\" is warden − floor.\n\n")
	w.WriteString("| db | query | direct | floor | warden | warden/direct | warden/floor | Warden adds | analysis | targets | met? |\n")
	w.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	ratio := func(a, b float64) string {
		if a <= 0 || b <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	med := func(unit, db, q, p string) float64 { return median(all.get(unit, key{db, q, p})) }
	for _, db := range dbOrder {
		for _, q := range queryOrder {
			d, fl, wd, an := med("ns/op", db, q, "direct"), med("ns/op", db, q, "floor"), med("ns/op", db, q, "warden"), med("ns/op", db, q, "analysis")
			if d == 0 && wd == 0 && an == 0 {
				continue
			}
			target := "analysis < 1 ms"
			met := an > 0 && an < maxAnalysisNs
			if q == scanQuery {
				target += "; ≤ 1.5× direct"
				met = met && d > 0 && wd > 0 && wd/d <= maxScanRatio
			}
			yes := "yes"
			switch {
			case an == 0 || (q == scanQuery && (d == 0 || wd == 0)):
				yes = "not measured"
			case !met:
				yes = "**no**"
			}
			adds := "–"
			if fl > 0 && wd > 0 {
				adds = dur(wd - fl)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				db, q, dur(d), dur(fl), dur(wd), ratio(wd, d), ratio(wd, fl), adds, dur(an), target, yes)
		}
	}
	w.WriteString("\nCPU time of the benchmark process per call (medians; a PostgreSQL server's own CPU time is not in it):\n\n")
	w.WriteString("| db | query | direct | floor | warden | warden/direct | warden/floor | analysis |\n|---|---|---|---|---|---|---|---|\n")
	for _, db := range dbOrder {
		for _, q := range queryOrder {
			d, fl, wd, an := med("cpu-ns/op", db, q, "direct"), med("cpu-ns/op", db, q, "floor"), med("cpu-ns/op", db, q, "warden"), med("cpu-ns/op", db, q, "analysis")
			if d == 0 && wd == 0 && an == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", db, q, dur(d), dur(fl), dur(wd), ratio(wd, d), ratio(wd, fl), dur(an))
		}
	}
	w.WriteString("\nEvery run (wall-clock ns/op), in order:\n\n")
	w.WriteString("| benchmark | runs | min | median | max |\n|---|---|---|---|---|\n")
	for _, db := range dbOrder {
		for _, q := range queryOrder {
			for _, p := range paths {
				v := all.get("ns/op", key{db, q, p})
				if len(v) == 0 {
					continue
				}
				var s []string
				for _, x := range v {
					s = append(s, strconv.FormatFloat(x, 'f', 0, 64))
				}
				fmt.Fprintf(w, "| %s/%s/%s | %s | %s | %s | %s |\n", db, q, p, strings.Join(s, " "),
					dur(slices.Min(v)), dur(median(v)), dur(slices.Max(v)))
			}
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\n**Failed:** %s\n", strings.Join(failed, ", "))
	}
	if len(all["ns/op"]) == 0 {
		w.WriteString("\n**No BenchmarkSQL results in the input.**\n")
	}
	return len(failed) == 0 && len(all["ns/op"]) > 0
}
