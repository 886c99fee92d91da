// Command httpreport turns the output of BenchmarkHTTP (bench/httpbench)
// into the markdown table of bench/README.md, "HTTP (issue 5)": for each
// payload, the medians over the runs of direct's and Warden's p50, p99 and
// calls a second, what Warden adds at p50 and whether it is under the
// issue's 0.3 ms. bench/http.sh runs it.
//
//	httpreport [-in go-test-output] [-out report.md] [-title text] [-note text]...
package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/bench/internal/gobench"
)

// maxAddedP50 is issue 5's target: Warden adds under 0.3 ms at p50 on
// loopback, one request at a time.
const maxAddedP50 = 0.3e6 // ns

var (
	modes    = []string{"serial", "parallel"}
	payloads = []string{"item", "big"}
	paths    = []string{"direct", "warden"}
)

func main() {
	gobench.Main("httpreport", "HTTP benchmark (issue 5)", func(w *strings.Builder, r io.Reader, title string, notes []string) (bool, error) {
		res, err := gobench.Parse(r, "BenchmarkHTTP")
		if err != nil {
			return false, err
		}
		return report(w, title, notes, res), nil
	})
}

// name is a sub-benchmark's name below BenchmarkHTTP.
func name(mode, payload, path string) string { return mode + "/" + payload + "/" + path }

// report writes the markdown and tells whether the input was complete: no
// benchmark failed and there were results. A missed target is only shown.
func report(w *strings.Builder, title string, extra []string, res *gobench.Results) bool {
	fmt.Fprintf(w, "# %s\n\n", title)
	for _, n := range extra {
		fmt.Fprintf(w, "%s  \n", n)
	}
	if len(extra) > 0 {
		w.WriteString("\n")
	}
	w.WriteString("Medians over the runs. direct: a Go http.Client with keep-alive, GET, the whole body read, checked and " +
		"compacted as JSON and encoded in Warden's result shape. warden: engine.Call of api_request (argument schema, " +
		"request checks, policy, audit record, connector, result encoding). \"Warden adds\" is warden p50 − direct p50. " +
		"serial: one request at a time; parallel: several goroutines at once (b.RunParallel).\n")

	// med is the median of a metric, in ns for the latencies.
	med := func(unit, mode, payload, path string) float64 {
		v := gobench.Median(res.Get(unit, name(mode, payload, path)))
		if strings.HasSuffix(unit, "-µs") {
			v *= 1e3
		}
		return v
	}
	ratio := func(a, b float64) string {
		if a <= 0 || b <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	rate := func(v float64) string {
		if v <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.0f/s", v)
	}
	for _, mode := range modes {
		if !slices.ContainsFunc(payloads, func(p string) bool { return len(res.Get("p50-µs", name(mode, p, "warden"))) > 0 }) {
			continue
		}
		fmt.Fprintf(w, "\n## %s\n\n", mode)
		w.WriteString("| payload | direct p50 | direct p99 | direct ops/s | warden p50 | warden p99 | warden ops/s | Warden adds (p50) | warden/direct p50 | target | met? |\n")
		w.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range payloads {
			d50, d99, dops := med("p50-µs", mode, p, "direct"), med("p99-µs", mode, p, "direct"), med("ops/s", mode, p, "direct")
			w50, w99, wops := med("p50-µs", mode, p, "warden"), med("p99-µs", mode, p, "warden"), med("ops/s", mode, p, "warden")
			if d50 == 0 && w50 == 0 {
				continue
			}
			label := p
			if body := med("body-B/op", mode, p, "warden"); body > 0 {
				label = fmt.Sprintf("%s (%.0f B)", p, body)
			}
			adds, target, met := "–", "–", "–"
			if d50 > 0 && w50 > 0 {
				adds = strings.Replace(fmt.Sprintf("%.3f ms", (w50-d50)/1e6), "-", "−", 1)
			}
			if mode == "serial" {
				target, met = "adds < 0.3 ms at p50", "not measured"
				if d50 > 0 && w50 > 0 {
					met = "yes"
					if w50-d50 >= maxAddedP50 {
						met = "**no**"
					}
				}
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
				gobench.Dur(d50), gobench.Dur(d99), rate(dops), gobench.Dur(w50), gobench.Dur(w99), rate(wops),
				adds, ratio(w50, d50), target, met)
		}
	}

	w.WriteString("\nCPU time of the whole benchmark process per call (medians; the upstream runs in it too):\n\n")
	w.WriteString("| mode | payload | direct | warden | Warden adds | warden/direct | allocs direct | allocs warden |\n|---|---|---|---|---|---|---|---|\n")
	for _, mode := range modes {
		for _, p := range payloads {
			d, wd := med("cpu-ns/op", mode, p, "direct"), med("cpu-ns/op", mode, p, "warden")
			if d == 0 && wd == 0 {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %.0f | %.0f |\n", mode, p, gobench.Dur(d), gobench.Dur(wd),
				gobench.Dur(wd-d), ratio(wd, d), med("allocs/op", mode, p, "direct"), med("allocs/op", mode, p, "warden"))
		}
	}

	w.WriteString("\nEvery run, in order (p50 in µs; calls a second):\n\n")
	w.WriteString("| benchmark | p50 runs | p50 min / median / max | ops/s runs |\n|---|---|---|---|\n")
	list := func(v []float64, prec int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(x, 'f', prec, 64)
		}
		return strings.Join(s, " ")
	}
	for _, mode := range modes {
		for _, p := range payloads {
			for _, path := range paths {
				n := name(mode, p, path)
				v := res.Get("p50-µs", n)
				if len(v) == 0 {
					continue
				}
				fmt.Fprintf(w, "| %s | %s | %s / %s / %s | %s |\n", n, list(v, 1),
					gobench.Dur(slices.Min(v)*1e3), gobench.Dur(gobench.Median(v)*1e3), gobench.Dur(slices.Max(v)*1e3),
					list(res.Get("ops/s", n), 0))
			}
		}
	}
	// Runs of direct and warden alternate when http.sh runs the rounds,
	// so each round's difference is a paired figure.
	w.WriteString("\nWarden adds at p50, round by round (warden − direct of the same round):\n\n")
	w.WriteString("| mode | payload | rounds (µs) | min / median / max |\n|---|---|---|---|\n")
	for _, mode := range modes {
		for _, p := range payloads {
			d, wd := res.Get("p50-µs", name(mode, p, "direct")), res.Get("p50-µs", name(mode, p, "warden"))
			n := min(len(d), len(wd))
			if n == 0 {
				continue
			}
			diff := make([]float64, n)
			for i := range n {
				diff[i] = wd[i] - d[i]
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s / %s / %s |\n", mode, p, list(diff, 1),
				gobench.Dur(slices.Min(diff)*1e3), gobench.Dur(gobench.Median(diff)*1e3), gobench.Dur(slices.Max(diff)*1e3))
		}
	}
	if len(res.Failed) > 0 {
		fmt.Fprintf(w, "\n**Failed:** %s\n", strings.Join(res.Failed, ", "))
	}
	if len(res.Runs["ns/op"]) == 0 {
		w.WriteString("\n**No BenchmarkHTTP results in the input.**\n")
	}
	return len(res.Failed) == 0 && len(res.Runs["ns/op"]) > 0
}
