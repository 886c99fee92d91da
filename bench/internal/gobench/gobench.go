// Package gobench reads the output of `go test -bench` for the report
// commands of bench/ (sqlreport, httpreport): every metric of every run of
// one benchmark's sub-benchmarks, and the medians and durations the
// reports print.
package gobench

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Results are the metrics of one benchmark's sub-benchmarks.
type Results struct {
	// Runs holds, by unit ("ns/op", "p50-µs", ...) and then by the
	// sub-benchmark's name below the benchmark ("sqlite/point/direct",
	// without the GOMAXPROCS suffix), the values of every run in order.
	Runs map[string]map[string][]float64
	// Failed names the benchmarks that printed "--- FAIL".
	Failed []string
}

// Get returns the runs of one metric of one sub-benchmark.
func (r *Results) Get(unit, name string) []float64 { return r.Runs[unit][name] }

// Parse collects every metric of every line of benchmark (such as
// "BenchmarkSQL") that names a sub-benchmark, and the failures.
func Parse(r io.Reader, benchmark string) (*Results, error) {
	res := &Results{Runs: map[string]map[string][]float64{}}
	prefix := benchmark + "/"
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "--- FAIL: "); ok {
			res.Failed = append(res.Failed, name)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		name := strings.TrimPrefix(f[0], prefix)
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %v", line, err)
			}
			unit := f[i+1]
			if res.Runs[unit] == nil {
				res.Runs[unit] = map[string][]float64{}
			}
			res.Runs[unit][name] = append(res.Runs[unit][name], v)
		}
	}
	return res, sc.Err()
}

// Median is the median of v, 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// Dur formats nanoseconds; 0 is "–".
func Dur(ns float64) string {
	switch {
	case ns < 0:
		return "−" + Dur(-ns)
	case ns == 0:
		return "–"
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

// Notes is a repeatable string flag: lines printed under a report's
// heading.
type Notes []string

func (n *Notes) String() string     { return strings.Join(*n, "; ") }
func (n *Notes) Set(s string) error { *n = append(*n, s); return nil }
