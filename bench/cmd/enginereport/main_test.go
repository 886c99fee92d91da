package main

import (
	"regexp"
	"strings"
	"testing"
)

const baseOut = `goos: linux
pkg: github.com/warden-dev/warden/internal/engine
BenchmarkCall/read-4KiB/audit=false         	   34915	     100 ns/op	   17001 B/op	      83 allocs/op
BenchmarkWalkDirFloor                       	     513	   2000 ns/op	  234980 B/op	    4342 allocs/op
PASS
pkg: github.com/warden-dev/warden/internal/policy
BenchmarkEvaluate/spread         	 2941077	       500 ns/op	      16 B/op	       1 allocs/op
pkg: github.com/warden-dev/warden/internal/engine
BenchmarkCall/read-4KiB/audit=false         	   34915	     110 ns/op	   17001 B/op	      83 allocs/op
BenchmarkWalkDirFloor                       	     513	   2000 ns/op	  234980 B/op	    4342 allocs/op
pkg: github.com/warden-dev/warden/internal/policy
BenchmarkEvaluate/spread         	 2941077	       500 ns/op	      16 B/op	       1 allocs/op
`

const curOut = `pkg: github.com/warden-dev/warden/internal/engine
BenchmarkCall/read-4KiB/audit=false-2         	   34915	     126 ns/op	   17001 B/op	      85 allocs/op
BenchmarkWalkDirFloor-2                       	     513	   2000 ns/op	  234980 B/op	    4342 allocs/op
pkg: github.com/warden-dev/warden/internal/policy
BenchmarkEvaluate/spread-2         	 2941077	       500 ns/op	      16 B/op	       1 allocs/op
BenchmarkEvaluate/new-2         	 2941077	       50 ns/op	      16 B/op	       1 allocs/op
--- FAIL: BenchmarkEvaluate/broken
`

func TestReport(t *testing.T) {
	base, err := parse(strings.NewReader(baseOut))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := parse(strings.NewReader(curOut))
	if err != nil {
		t.Fatal(err)
	}
	if got := base.get("engine.Call/read-4KiB/audit=false", "ns/op"); len(got) != 2 || got[1] != 110 {
		t.Fatalf("base runs of engine.Call/read-4KiB/audit=false = %v, want [100 110]", got)
	}
	var w strings.Builder
	complete := report(&w, "t", nil, base, cur, regexp.MustCompile(`WalkDirFloor`), 1.05)
	out := w.String()
	if complete {
		t.Error("report of a run with a failed benchmark is complete")
	}
	for _, want := range []string{
		// median 105 → 126: 1.200, the allocation medians side by side
		"| engine.Call/read-4KiB/audit=false | 105 ns | ±5% | 126 ns | – | 1.200 | 83 | 85 |",
		"| policy.Evaluate/spread | 500 ns | ±0% | 500 ns | – | 1.000 | 1 | 1 |",
		"| policy.Evaluate/new | – | – | 50.0 ns | – | – | – | 1 |",
		"| engine.WalkDirFloor (control) | 2.00 µs |",
		"Over 1.05: engine.Call/read-4KiB/audit=false (1.200).",
		"controls: 1.000 over 1 rows",
		"**Failed (current):** policy.Evaluate/broken",
		"| engine.Call/read-4KiB/audit=false | 100 110 | 126 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// The control comes after the rows measured.
	if strings.Index(out, "WalkDirFloor (control)") < strings.Index(out, "| policy.Evaluate/new |") {
		t.Errorf("control row before the measured rows:\n%s", out)
	}
}

func TestSpreadIgnoresOutlier(t *testing.T) {
	if got := spread([]float64{100, 101, 99, 100, 102, 300}); got < 0.014 || got > 0.016 {
		t.Errorf("spread = %v, want 1.5/100.5 (300 is an outlier)", got)
	}
}

func TestDur(t *testing.T) {
	for ns, want := range map[float64]string{0: "–", 7: "7.00 ns", 416.6: "417 ns", 1234: "1.23 µs", 43316: "43.3 µs", 3626378: "3.63 ms", 2.5e9: "2.50 s"} {
		if got := dur(ns); got != want {
			t.Errorf("dur(%v) = %q, want %q", ns, got, want)
		}
	}
}
