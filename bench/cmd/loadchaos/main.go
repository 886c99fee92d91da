// Command loadchaos loads a real warden serve --http with many concurrent
// MCP sessions while it kills the server at random and keeps its disk
// full, then checks that nothing acknowledged was lost. It is the load
// test of issue 12; bench/load.sh builds it and runs it.
//
//	loadchaos -warden BIN [-duration 60s] [-sessions 32] [flags]
//
// It mounts a small tmpfs (as root; -no-tmpfs uses a plain directory and
// skips the full-disk part), writes a policy with a file resource on it
// (every fs action), a SQLite database and an HTTP API served by a
// loopback echo server it starts itself, with an audit key and a bearer
// token for each of four agents, and starts warden serve --http on
// 127.0.0.1. Then, for -duration:
//
//   - -sessions sessions of the official Go SDK client make mixed calls:
//     reads, lists, searches, overwrites, appends, edits, moves, deletes,
//     SQL selects and inserts, HTTP GETs;
//   - -fillers of them write 2 MiB files until the disk is full, hold it
//     full a moment, then delete them;
//   - the server is SIGKILLed every -kill-min to -kill-max and restarted on
//     the same state; clients reconnect;
//   - the server's VmRSS is read every second.
//
// It prints calls and errors by reason code, RSS over time, and the
// checks: warden audit verify passes; every acknowledged append, overwrite,
// edit and insert is there and nothing refused was applied; no
// .warden-tmp-* file is left (a kill's is swept by the next write in its
// directory); the SQLite database passes PRAGMA integrity_check; no call
// failed in a way issue 12 rules out (audit-unavailable, disk-full on a
// read or a delete, target-changed between Warden's own writers, exists on
// an overwriting move, tool-failed on a write, internal-error). It exits
// 1 when a check fails and 2 when it could not run.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/warden-dev/warden/bench/internal/gobench"
)

// config is the command line.
type config struct {
	warden               string
	duration             time.Duration
	sessions, fillers    int
	killMin, killMax     time.Duration
	quietTail            time.Duration
	callTimeout          time.Duration
	tmpfsSize            string
	noTmpfs, stateOnDisk bool
	seed                 uint64
	workdir              string
	keep                 bool
	out                  string
	notes                gobench.Notes
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a check failed
	exitError  = 2 // the run could not be made
)

func main() {
	var c config
	flag.StringVar(&c.warden, "warden", "", "the warden `binary` to load (required)")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long the load runs")
	flag.IntVar(&c.sessions, "sessions", 32, "concurrent MCP sessions, fillers included")
	flag.IntVar(&c.fillers, "fillers", 3, "sessions that fill the disk with 2 MiB writes and free it again (0 with -no-tmpfs)")
	flag.DurationVar(&c.killMin, "kill-min", 10*time.Second, "shortest time between two SIGKILLs of the server (0: never kill)")
	flag.DurationVar(&c.killMax, "kill-max", 20*time.Second, "longest time between two SIGKILLs")
	flag.DurationVar(&c.quietTail, "quiet-tail", 10*time.Second, "no kill in this last part of the run, so crash leftovers can be swept")
	flag.DurationVar(&c.callTimeout, "call-timeout", 30*time.Second, "time limit of one call")
	// 256 MiB: at full speed the audit log, which nothing may delete,
	// grows about 35 MB a minute; on a smaller disk it alone fills the
	// disk within the run, and then no reserve can keep reads audited.
	flag.StringVar(&c.tmpfsSize, "tmpfs-size", "256m", "size of the tmpfs holding the root, the state directory and the database")
	flag.BoolVar(&c.noTmpfs, "no-tmpfs", false, "use a plain directory instead of a tmpfs (no root needed; no full-disk phase)")
	flag.BoolVar(&c.stateOnDisk, "state-off-tmpfs", false, "keep the state directory (audit log, journal) off the tmpfs, so only the root fills up")
	flag.Uint64Var(&c.seed, "seed", 0, "random seed (0: from the clock); printed in the report")
	flag.StringVar(&c.workdir, "workdir", "", "directory for the run (default: a new temporary directory)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (the tmpfs is copied out first)")
	flag.StringVar(&c.out, "out", "", "also write the report to this `file`")
	flag.Var(&c.notes, "note", "a line printed under the heading (repeatable): the revision, the machine")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "loadchaos: unexpected arguments %q\n", flag.Args())
		os.Exit(exitError)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, c, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// validate checks the flags and fills in what depends on others.
func (c *config) validate() error {
	switch {
	case c.warden == "":
		return fmt.Errorf("-warden is required (bench/load.sh builds it)")
	case c.duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case c.sessions < 1 || c.sessions > 1000:
		return fmt.Errorf("-sessions must be 1 to 1000")
	case c.fillers < 0 || c.fillers >= c.sessions:
		return fmt.Errorf("-fillers must be 0 to -sessions-1")
	case c.killMin < 0 || c.killMax < c.killMin:
		return fmt.Errorf("-kill-min must be 0 or positive and at most -kill-max")
	case c.callTimeout <= 0:
		return fmt.Errorf("-call-timeout must be positive")
	}
	// The server runs in the work directory.
	abs, err := filepath.Abs(c.warden)
	if err != nil {
		return fmt.Errorf("-warden: %w", err)
	}
	c.warden = abs
	if c.noTmpfs {
		// Never fill a real disk.
		c.fillers = 0
	} else if os.Geteuid() != 0 {
		return fmt.Errorf("mounting a tmpfs needs root: run as root (sudo bench/load.sh), or pass -no-tmpfs to run without the full-disk part")
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return nil
}

func run(ctx context.Context, c config, stdout, stderr io.Writer) int {
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "loadchaos: %v\n", err)
		return exitError
	}
	rng := rand.New(rand.NewPCG(c.seed, c.seed>>1|1))
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "loadchaos: "+format+"\n", args...)
	}
	fx, err := newFixture(c, logf)
	if err != nil {
		logf("%v", err)
		return exitError
	}
	defer fx.close(c.keep)

	srv := newServer(c.warden, fx, logf)
	if err := srv.start(ctx); err != nil {
		logf("%v", err)
		return exitError
	}
	defer srv.stop()

	rep, err := load(ctx, c, fx, srv, rng, logf)
	if err != nil {
		logf("%v", err)
		return exitError
	}
	srv.stop()
	rep.checks = fx.check(ctx, srv, rep)
	rep.print(stdout)
	if c.out != "" {
		f, err := os.Create(c.out)
		if err == nil {
			rep.print(f)
			err = f.Close()
		}
		if err != nil {
			logf("writing the report: %v", err)
		}
	}
	if !rep.passed() {
		return exitFailed
	}
	return exitOK
}
