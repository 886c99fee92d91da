// Command mcpbench measures Warden over MCP stdio against the floor (a bare
// server on the same Go SDK with no checks and no audit) and the reference
// MCP filesystem server, on the same fixture in one run, and prints a
// markdown table with the ratios and whether each target is met.
//
//	mcpbench -warden BIN -floor BIN -reference DIST/index.js [flags]
//
// For each server it measures:
//
//   - start-up: process start → handshake done, and → first tools/list
//     result; the median of -starts fresh processes;
//   - idle memory: anonymous RSS (RssAnon) and all of it (VmRSS) after
//     connecting and -idle of quiet, the same after the benchmark, and the
//     peak VmHWM;
//   - nine rows, each a batch of sequential tools/call requests with every
//     result checked: read a 4 KiB file, list a 1,000-entry directory,
//     search 1,000 files by a name glob (100 match), overwrite a 4 KiB
//     file, make one replacement in a 4 KiB text file; and the large
//     results: read a 64 KiB and a 1 MiB file, list a 10,000-entry
//     directory, search 10,000 files by a glob that matches all of them.
//     Per batch: calls a second (n / Σ latency), p50 and p99 latency, and
//     the server's CPU time per call.
//
// The rows are timed through the official Go SDK client, or with -client
// raw through a minimal JSON-RPC client that leaves decoding out of the
// timed part (see raw.go).
//
// Servers take turns: each of -rounds rounds runs every row on every
// server, in an order rotated each time, and the table gives the median
// over rounds. Start-ups are interleaved the same way.
//
// See bench/README.md for the targets and bench/run.sh for the one command.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// config is the command line.
type config struct {
	warden, floor, reference, node string
	n                              [numRows]int
	timeCap, warmupCap, idle       time.Duration
	warmup, rounds, starts, slice  int
	rows                           string
	protocol, refList, client      string
	wardenEnv                      multi
	workdir, out, cpuprofile, rev  string
	keep                           bool
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mcpbench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	var c config
	fs := flag.NewFlagSet("mcpbench", flag.ContinueOnError)
	fs.StringVar(&c.warden, "warden", "", "the warden `binary` (required)")
	fs.StringVar(&c.floor, "floor", "", "the floor server `binary` (required)")
	fs.StringVar(&c.reference, "reference", "", "the reference server's dist/index.js; empty skips the reference")
	fs.StringVar(&c.node, "node", "node", "the node `binary` that runs the reference")
	fs.IntVar(&c.n[rowRead], "n-read", 1000, "calls per batch of read-4KiB")
	fs.IntVar(&c.n[rowList], "n-list", 200, "calls per batch of list-1000")
	fs.IntVar(&c.n[rowSearch], "n-search", 200, "calls per batch of search-1000")
	fs.IntVar(&c.n[rowWrite], "n-write", 200, "calls per batch of write-4KiB")
	fs.IntVar(&c.n[rowEdit], "n-edit", 200, "calls per batch of edit-4KiB")
	fs.IntVar(&c.n[rowRead64K], "n-read64k", 200, "calls per batch of read-64KiB")
	fs.IntVar(&c.n[rowRead1M], "n-read1m", 50, "calls per batch of read-1MiB")
	fs.IntVar(&c.n[rowList10K], "n-list10k", 20, "calls per batch of list-10000")
	fs.IntVar(&c.n[rowSearch10K], "n-search10k", 20, "calls per batch of search-10000")
	fs.DurationVar(&c.timeCap, "time-cap", 10*time.Second, "stop a batch after this long even if it has not made n calls")
	fs.IntVar(&c.warmup, "warmup", 200, "warm-up calls per row and server before measuring")
	fs.DurationVar(&c.warmupCap, "warmup-cap", 3*time.Second, "longest warm-up per row and server")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds of every row on every server; the table gives the median")
	fs.IntVar(&c.slice, "slice", 20, "calls a server makes before the next server's turn within a round's batch (at most a tenth of the batch)")
	fs.IntVar(&c.starts, "starts", 10, "fresh processes per server for the start-up time")
	fs.DurationVar(&c.idle, "idle", time.Second, "quiet time before idle memory is read")
	fs.StringVar(&c.rows, "rows", strings.Join(shortNames(allRows()), ","), "rows to run, comma-separated, by short name or by full name such as write-4KiB or read-1MiB")
	fs.StringVar(&c.client, "client", "sdk", "client for the rows: sdk (the official Go SDK client) or raw (writes each request line and times until its response line, decoding nothing in the timed part)")
	fs.StringVar(&c.protocol, "protocol", "", "MCP protocol version the client asks for (default: the SDK's latest)")
	fs.StringVar(&c.refList, "ref-list", "", "reference tool for the list row (default list_directory_with_sizes)")
	fs.Var(&c.wardenEnv, "warden-env", "`KEY=VALUE` for the benchmarked warden process only (repeatable), e.g. a profile switch")
	fs.StringVar(&c.workdir, "workdir", "", "directory for the fixture and server logs (default: a new temporary directory)")
	fs.StringVar(&c.out, "out", "", "also write the report to this `file`")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.StringVar(&c.rev, "rev", "", "the source revision of the warden binary, for the report")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the harness itself to `file`")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.warden == "" || c.floor == "" {
		return nil, fmt.Errorf("-warden and -floor are required")
	}
	if c.client != "sdk" && c.client != "raw" {
		return nil, fmt.Errorf("-client: want sdk or raw, got %q", c.client)
	}
	if c.rounds < 1 || c.starts < 1 || c.slice < 1 {
		return nil, fmt.Errorf("-rounds, -starts and -slice must be at least 1")
	}
	return &c, nil
}

// results is everything measured for one server.
type results struct {
	name     string
	protocol string
	tool     [numRows]string
	start    startup
	idle     memory
	after    memory
	rounds   [numRows][]stats
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	rows, err := parseRows(cfg.rows)
	if err != nil {
		return err
	}
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, p := range []*string{&cfg.warden, &cfg.floor, &cfg.reference} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return err
			}
		}
	}

	work := cfg.workdir
	if work == "" {
		if work, err = os.MkdirTemp("", "mcpbench-"); err != nil {
			return err
		}
	}
	if !cfg.keep {
		defer os.RemoveAll(work)
	}
	fx, err := makeFixture(filepath.Join(work, "fixture"))
	if err != nil {
		return err
	}
	logs := filepath.Join(work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}

	servers := []*server{wardenServer(cfg.warden, fx, cfg.wardenEnv), floorServer(cfg.floor, fx)}
	if cfg.reference != "" {
		servers = append(servers, referenceServer(cfg.node, cfg.reference, fx, cfg.refList))
	}
	res := make([]*results, len(servers))
	stderr := make([]io.Writer, len(servers))
	for i, s := range servers {
		res[i] = &results{name: s.name}
		f, err := os.Create(filepath.Join(logs, s.name+".log"))
		if err != nil {
			return err
		}
		defer f.Close()
		stderr[i] = f
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "mcpbench", Version: "1"}, nil)
	var opts *mcp.ClientSessionOptions
	if cfg.protocol != "" {
		opts = &mcp.ClientSessionOptions{ProtocolVersion: cfg.protocol}
	}
	progress := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "mcpbench: "+format+"\n", a...) }
	began, load := time.Now(), loadAvg()

	// Start-up. One untimed start each first, so every server starts from
	// a warm page cache.
	progress("start-up: %d starts per server", cfg.starts)
	for i := -1; i < cfg.starts; i++ {
		for _, j := range rotation(len(servers), i) {
			initDur, listDur, err := probeStart(ctx, client, servers[j], opts, stderr[j])
			if err != nil {
				return fmt.Errorf("%w (server log: %s)", err, logs)
			}
			if i >= 0 {
				res[j].start.init = append(res[j].start.init, initDur)
				res[j].start.list = append(res[j].start.list, listDur)
			}
		}
	}

	// The benchmark sessions.
	sessions := make([]*session, len(servers))
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.close()
			}
		}
	}()
	for i, srv := range servers {
		var s *session
		var tools []*mcp.Tool
		if cfg.client == "raw" {
			s, tools, err = connectRaw(ctx, srv, cfg.protocol, stderr[i])
		} else {
			s, tools, _, _, err = connect(ctx, client, srv, opts, srv.env, stderr[i])
		}
		if err != nil {
			return fmt.Errorf("%w (server log: %s)", err, logs)
		}
		sessions[i] = s
		s.calls = srv.plan(tools)
		if err := checkTools(s.calls, rows, tools); err != nil {
			return fmt.Errorf("%s: %w", srv.name, err)
		}
		res[i].protocol = s.protocol
		for r := range numRows {
			res[i].tool[r] = s.calls[r].tool
		}
	}
	sleep(ctx, cfg.idle)
	for i, s := range sessions {
		if res[i].idle, err = readMemory(s.pid); err != nil {
			return err
		}
	}

	progress("warm-up")
	for _, r := range rows {
		for _, s := range sessions {
			if _, err := s.runBatch(ctx, r, cfg.warmup, cfg.warmupCap); err != nil {
				return err
			}
		}
	}
	for round := range cfg.rounds {
		for k, r := range rows {
			progress("round %d/%d: %s", round+1, cfg.rounds, r)
			bs, err := runRound(ctx, sessions, r, cfg.n[r], cfg.sliceOf(r), cfg.timeCap, round+k)
			if err != nil {
				return err
			}
			for j, b := range bs {
				res[j].rounds[r] = append(res[j].rounds[r], b.stats())
			}
		}
	}
	for i, s := range sessions {
		if res[i].after, err = readMemory(s.pid); err != nil {
			return err
		}
	}
	for i, s := range sessions {
		s.close()
		sessions[i] = nil
	}

	env := describeEnv(cfg, fx, load, time.Since(began))
	var out strings.Builder
	report(&out, env, rows, res)
	if _, err := io.WriteString(stdout, out.String()); err != nil {
		return err
	}
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(out.String()), 0o644)
	}
	return nil
}

func parseRows(s string) ([]row, error) {
	var rows []row
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(allRows(), func(r row) bool { return name == r.short() || name == r.String() })
		if i < 0 {
			return nil, fmt.Errorf("-rows: unknown row %q (want one of %s)", name, strings.Join(shortNames(allRows()), ", "))
		}
		rows = append(rows, row(i))
	}
	return rows, nil
}

func allRows() []row {
	rows := make([]row, numRows)
	for i := range rows {
		rows[i] = row(i)
	}
	return rows
}

func shortNames(rows []row) []string {
	var names []string
	for _, r := range rows {
		names = append(names, r.short())
	}
	return names
}

// sliceOf is the turn length for row r: -slice calls, but at most a tenth
// of the batch, so that the servers take at least ten turns even on the
// large-result rows' short batches. The first five rows' batches are of
// 200 calls or more, so their turns stay at 20 calls by default.
func (c *config) sliceOf(r row) int {
	return min(c.slice, max(1, c.n[r]/10))
}

// rotation returns 0..n-1 rotated left by k, so that each server takes
// each place in turn.
func rotation(n, k int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = ((i+k)%n + n) % n
	}
	return order
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
