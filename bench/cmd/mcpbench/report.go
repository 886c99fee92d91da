package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Targets from the issue, and for the write rows from the lead.
const (
	maxFloorRatio      = 1.2                   // Warden's p50 within 1.2× of the floor's on the read rows
	maxWriteFloorRatio = 1.3                   // and within 1.3× on the write rows, which journal, on disk (1.2× in memory)
	minSearchVsRef     = 20.0                  // search at least 20× the reference's calls a second
	minLargeVsRef      = 3.0                   // large results (issue 14) at least 3× the reference's calls a second
	minWriteVsRef      = 1.0                   // writes and edits faster than the reference, in memory only: it never flushes
	maxStartup         = 10 * time.Millisecond // start-up under 10 ms (issue 14)
	maxIdleAnon        = 20_000_000            // idle anonymous memory under 20 MB
)

// target returns a row's largest Warden/floor p50 ratio and smallest
// Warden/reference calls-a-second ratio (0: none). inMemory reports a
// fixture on tmpfs, where a flush costs nothing: only there are durable
// writes compared with the reference, which never flushes.
func target(r row, inMemory bool) (maxFloor, minVsRef float64) {
	switch r {
	case rowSearch:
		return maxFloorRatio, minSearchVsRef
	case rowWrite, rowEdit:
		if inMemory {
			return maxFloorRatio, minWriteVsRef
		}
		return maxWriteFloorRatio, 0
	case rowRead64K, rowRead1M, rowList10K, rowSearch10K:
		return maxFloorRatio, minLargeVsRef
	}
	return maxFloorRatio, 0
}

// megabyte is 10^6 bytes, the unit of the memory target.
const megabyte = 1e6

// none fills a cell that was not measured.
const none = "–"

// environment describes the run.
type environment struct {
	date, command, machine, cpu, memory, kernel string
	goVersion, nodeVersion, wardenVersion       string
	referenceVersion                            string
	fixture                                     string
	loadStart, loadEnd                          string // /proc/loadavg, 1-minute figure
	elapsed                                     time.Duration
	cfg                                         *config
	inMemory                                    bool // the fixture is on tmpfs or ramfs
}

func describeEnv(cfg *config, fx *fixture, loadStart string, elapsed time.Duration) environment {
	e := environment{
		inMemory:      inMemory(fx.root),
		loadStart:     loadStart,
		loadEnd:       loadAvg(),
		date:          time.Now().UTC().Format("2006-01-02 15:04 MST"),
		command:       strings.Join(os.Args, " "),
		cpu:           procField("/proc/cpuinfo", "model name"),
		memory:        procField("/proc/meminfo", "MemTotal"),
		kernel:        strings.TrimSpace(readString("/proc/sys/kernel/osrelease")),
		goVersion:     runtime.Version(),
		wardenVersion: version(cfg.warden, "version"),
		fixture:       describeFixture(fx),
		elapsed:       elapsed,
		cfg:           cfg,
	}
	e.machine = fmt.Sprintf("%d CPUs", runtime.NumCPU())
	if cfg.reference != "" {
		e.nodeVersion = version(cfg.node, "--version")
		var pkg struct{ Version string }
		raw := readString(filepath.Join(filepath.Dir(filepath.Dir(cfg.reference)), "package.json"))
		if json.Unmarshal([]byte(raw), &pkg) == nil {
			e.referenceVersion = pkg.Version
		}
	}
	return e
}

// describeFixture lists the fixture's files in row order.
func describeFixture(fx *fixture) string {
	var parts []string
	for _, r := range allRows() {
		if f, ok := fx.reads[r]; ok {
			parts = append(parts, fmt.Sprintf("%d-byte text file", len(f.content)))
		}
		if l, ok := fx.lists[r]; ok {
			parts = append(parts, fmt.Sprintf("directory of %d files", l.entries))
		}
		if t, ok := fx.searches[r]; ok {
			parts = append(parts, fmt.Sprintf("%d files in %d directories, %d named %s", t.files, searchFanout*searchFanout, t.matches, t.glob))
		}
	}
	parts = append(parts, fmt.Sprintf("a %d-byte file to overwrite and one to edit per server", readSize))
	return strings.Join(parts, "; ")
}

// loadAvg returns the 1-minute load average.
func loadAvg() string {
	f := strings.Fields(readString("/proc/loadavg"))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

func readString(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// procField returns the value of the first "key: value" line of a /proc
// file.
func procField(p, key string) string {
	for line := range strings.Lines(readString(p)) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}

// report writes the markdown report.
func report(w io.Writer, env environment, rows []row, res []*results) {
	byName := map[string]*results{}
	for _, r := range res {
		byName[r.name] = r
	}
	wd, fl, ref := byName["warden"], byName["floor"], byName["reference"]

	fmt.Fprintf(w, "## MCP stdio benchmark, %s\n\n", env.date)
	fmt.Fprintf(w, "- machine: %s, %s, %s memory, Linux %s\n", env.machine, env.cpu, env.memory, env.kernel)
	fmt.Fprintf(w, "- Go %s; warden %s", strings.TrimPrefix(env.goVersion, "go"), env.wardenVersion)
	if env.cfg.rev != "" {
		fmt.Fprintf(w, " at %s", env.cfg.rev)
	}
	if ref != nil {
		fmt.Fprintf(w, "; node %s; @modelcontextprotocol/server-filesystem %s", env.nodeVersion, env.referenceVersion)
	}
	where := "on disk: writes are compared with the floor only, since the reference never flushes"
	if env.inMemory {
		where = "on tmpfs, where a flush costs nothing: writes are compared with the reference too"
	}
	fmt.Fprintf(w, "\n- fixture: %s; %s\n", env.fixture, where)
	fmt.Fprintf(w, "- %d rounds (median shown), batches of %s calls (cap %s each) taken in turns of %d calls per server (a tenth of a smaller batch), %d start-ups per server; run took %s; load average %s at start, %s at end\n",
		env.cfg.rounds, batchSizes(env.cfg, rows), env.cfg.timeCap, env.cfg.slice, env.cfg.starts, env.elapsed.Round(time.Second), env.loadStart, env.loadEnd)
	if env.cfg.client == "raw" {
		fmt.Fprintln(w, "- client for the rows: raw JSON-RPC lines, timed from writing the request to reading the response line (no client decoding in the timed part)")
	} else {
		fmt.Fprintln(w, "- client for the rows: the official Go SDK client (mcp.CommandTransport); its decoding of each response is part of the latency")
	}
	fmt.Fprintf(w, "- command: `%s`\n\n", env.command)

	fmt.Fprintln(w, "| row | warden (audit and journal on) | floor | reference | warden/floor p50 | warden vs reference | target | met? |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		w1, f1 := summary(wd, r), summary(fl, r)
		ratio := float64(w1.p50) / float64(f1.p50)
		cells := []string{r.String(), cell(w1), cell(f1), none, fmt.Sprintf("%.3f×", ratio), none}
		var vsRef float64
		if ref != nil {
			r1 := summary(ref, r)
			vsRef = w1.perSec / r1.perSec
			cells[3], cells[5] = cell(r1), fmt.Sprintf("%.2f× calls/s", vsRef)
		}
		maxFloor, minVsRef := target(r, env.inMemory)
		goal := fmt.Sprintf("p50 ≤ %.1f× floor", maxFloor)
		var misses []string
		if ratio > maxFloor {
			misses = append(misses, "floor")
		}
		if minVsRef > 0 {
			goal += fmt.Sprintf("; ≥ %.0f× reference calls/s", minVsRef)
			if ref == nil {
				misses = append(misses, "reference not run")
			} else if vsRef < minVsRef {
				misses = append(misses, "reference")
			}
		}
		cells = append(cells, goal, met(misses))
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}

	// Start-up: process start → first tools/list result.
	ws, fs := median(wd.start.list), median(fl.start.list)
	cells := []string{"start-up", startCell(wd), startCell(fl), none, fmt.Sprintf("%.2f×", float64(ws)/float64(fs)), none}
	if ref != nil {
		cells[3] = startCell(ref)
		cells[5] = fmt.Sprintf("%.2f× faster", float64(median(ref.start.list))/float64(ws))
	}
	cells = append(cells, fmt.Sprintf("< %v", maxStartup), met(missIf(ws >= maxStartup, "start-up")))
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))

	cells = []string{"idle memory", memCell(wd), memCell(fl), none, fmt.Sprintf("%.2f×", float64(wd.idle.anon)/float64(fl.idle.anon)), none}
	if ref != nil {
		cells[3] = memCell(ref)
		cells[5] = fmt.Sprintf("%.2f× smaller", float64(ref.idle.anon)/float64(wd.idle.anon))
	}
	cells = append(cells, "anon < 20 MB", met(missIf(wd.idle.anon >= maxIdleAnon, "memory")))
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Cells: calls a second of one sequential client (n ÷ Σ latency), p50 and p99 latency, medians over rounds. "+
		"Start-up: process start → first tools/list result (handshake alone in brackets), median. "+
		"Idle memory: anonymous RSS (RssAnon) after connecting and a quiet second, total VmRSS beside it "+
		"(after the benchmark: anonymous, total; peak VmHWM). Ratios are of the anonymous RSS.")

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Server CPU time per call (user + system, all threads, from /proc/PID/stat; median over rounds):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| row | warden | floor | reference | warden/floor |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range rows {
		w1, f1 := summary(wd, r), summary(fl, r)
		refCPU := none
		if ref != nil {
			refCPU = dur(summary(ref, r).cpu)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.2f× |\n", r, dur(w1.cpu), dur(f1.cpu), refCPU, float64(w1.cpu)/float64(f1.cpu))
	}

	fmt.Fprintln(w)
	fmt.Fprint(w, "| server | protocol |")
	for _, r := range rows {
		fmt.Fprintf(w, " %s tool |", r.short())
	}
	fmt.Fprintf(w, "\n|---|---|%s\n", strings.Repeat("---|", len(rows)))
	for _, x := range res {
		fmt.Fprintf(w, "| %s | %s |", x.name, x.protocol)
		for _, r := range rows {
			fmt.Fprintf(w, " %s |", x.tool[r])
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Per round (calls, p50, p99), to show the spread:")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| row | server | rounds |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, r := range rows {
		for _, x := range res {
			var parts []string
			for _, s := range x.rounds[r] {
				parts = append(parts, fmt.Sprintf("%d × p50 %s p99 %s", s.n, dur(s.p50), dur(s.p99)))
			}
			fmt.Fprintf(w, "| %s | %s | %s |\n", r, x.name, strings.Join(parts, "; "))
		}
	}
}

// batchSizes reads, e.g., "1000 read, 200 list".
func batchSizes(c *config, rows []row) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%d %s", c.n[r], r.short()))
	}
	return strings.Join(parts, ", ")
}

// summary is the median over rounds of each statistic.
func summary(x *results, r row) stats {
	var rates []float64
	var p50s, p99s, cpus []time.Duration
	n := 0
	for _, s := range x.rounds[r] {
		rates = append(rates, s.perSec)
		p50s = append(p50s, s.p50)
		p99s = append(p99s, s.p99)
		cpus = append(cpus, s.cpu)
		n += s.n
	}
	return stats{n: n, perSec: median(rates), p50: median(p50s), p99: median(p99s), cpu: median(cpus)}
}

func cell(s stats) string {
	return fmt.Sprintf("%s/s, p50 %s, p99 %s", rate(s.perSec), dur(s.p50), dur(s.p99))
}

func startCell(x *results) string {
	return fmt.Sprintf("%s (%s)", dur(median(x.start.list)), dur(median(x.start.init)))
}

func memCell(x *results) string {
	mb := func(b int64) float64 { return float64(b) / megabyte }
	return fmt.Sprintf("%.1f MB anon, %.1f total (after: %.1f, %.1f; peak %.1f)", mb(x.idle.anon), mb(x.idle.rss), mb(x.after.anon), mb(x.after.rss), mb(x.after.hwm))
}

func missIf(miss bool, what string) []string {
	if miss {
		return []string{what}
	}
	return nil
}

func met(misses []string) string {
	if len(misses) == 0 {
		return "yes"
	}
	return "**no** (" + strings.Join(misses, ", ") + ")"
}

func rate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// dur formats a latency with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// inMemory reports whether dir is on tmpfs or ramfs.
func inMemory(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	const tmpfsMagic, ramfsMagic = 0x01021994, 0x858458f6
	return st.Type == tmpfsMagic || st.Type == ramfsMagic
}
