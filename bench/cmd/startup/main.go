// Command startup measures the start-up of Warden with the zero-configuration
// policy against the floor: the time from starting the process to the
// first tools/list result, with the Go SDK client over a pipe, as mcpbench
// measures its start-up row (see bench/README.md, "Start-up").
//
//	startup [-n N] -floor BIN -warden [LABEL=]BIN [-warden [LABEL=]BIN ...]
//
// Each Warden binary runs "warden serve" with no policy file in an empty
// directory of its own; the floor serves another empty directory. Starts
// are interleaved, in an order rotated every round, after one untimed start
// of each so that all start from a warm page cache. It prints a markdown
// table of the median and p90, and the median over rounds of each binary's
// time divided by the floor's in the same round. Each Warden binary also
// runs "warden version" every round: its time to exit is what starting the
// process and initialising the linked packages cost, before any command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "startup: %v\n", err)
		os.Exit(1)
	}
}

// A server is one binary under test and how to start it.
type server struct {
	label   string
	command func() *exec.Cmd
	// init and list are, per round, the time from starting the process to
	// the completed handshake and to the first tools/list result.
	init, list []time.Duration
	// version, for a Warden binary, starts "warden version" and waits for
	// it to end; exits are, per round, how long that took: starting the
	// process and initialising every linked package, which every command
	// pays before it does anything.
	version func() *exec.Cmd
	exits   []time.Duration
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	n := fs.Int("n", 30, "timed starts per server")
	floorBin := fs.String("floor", "", "the floor binary (go build ./bench/floor)")
	var wardens []string
	fs.Func("warden", "a warden binary, optionally LABEL=BIN; repeat to compare builds", func(s string) error {
		wardens = append(wardens, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *floorBin == "" || len(wardens) == 0 || *n < 1 {
		return errors.New("usage: startup [-n N] -floor BIN -warden [LABEL=]BIN [-warden [LABEL=]BIN]")
	}
	tmp, err := os.MkdirTemp("", "startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var servers []*server
	for i, w := range wardens {
		label, bin, ok := strings.Cut(w, "=")
		if !ok {
			label, bin = "warden", w
		}
		dir, err := emptyDir(tmp, fmt.Sprintf("warden%d", i))
		if err != nil {
			return err
		}
		servers = append(servers, &server{label: label, command: func() *exec.Cmd {
			cmd := exec.Command(bin, "serve")
			cmd.Dir = dir
			return cmd
		}, version: func() *exec.Cmd { return exec.Command(bin, "version") }})
	}
	floorDir, err := emptyDir(tmp, "floor")
	if err != nil {
		return err
	}
	floor := &server{label: "floor", command: func() *exec.Cmd { return exec.Command(*floorBin, floorDir) }}
	servers = append(servers, floor)

	ctx := context.Background()
	client := mcp.NewClient(&mcp.Implementation{Name: "startup", Version: "1"}, nil)
	for round := -1; round < *n; round++ {
		for k := range servers {
			s := servers[(k+round+1)%len(servers)]
			initDur, listDur, err := probe(ctx, client, s)
			if err != nil {
				return err
			}
			var exit time.Duration
			if s.version != nil {
				if exit, err = timeExit(s.version()); err != nil {
					return fmt.Errorf("%s: version: %w", s.label, err)
				}
			}
			if round >= 0 {
				s.init = append(s.init, initDur)
				s.list = append(s.list, listDur)
				s.exits = append(s.exits, exit)
			}
		}
	}

	fmt.Fprintf(out, "| server | tools/list p50 | p90 | handshake p50 | vs floor (median of per-round ratios) | version p50 |\n|---|---|---|---|---|---|\n")
	for _, s := range servers {
		ratios := make([]float64, len(s.list))
		for i := range s.list {
			ratios[i] = float64(s.list[i]) / float64(floor.list[i])
		}
		version := "–"
		if s.version != nil {
			version = ms(quantile(s.exits, 0.5))
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %.2f× | %s |\n", s.label, ms(quantile(s.list, 0.5)), ms(quantile(s.list, 0.9)), ms(quantile(s.init, 0.5)), quantileF(ratios, 0.5), version)
	}
	fmt.Fprintf(out, "\n%d starts per server, interleaved, after one untimed start each; Go SDK client; process start → first tools/list result. Version: \"warden version\", process start → exit, started right after each serve.\n", *n)
	return nil
}

// emptyDir makes the empty directory tmp/name.
func emptyDir(tmp, name string) (string, error) {
	dir := tmp + "/" + name
	return dir, os.Mkdir(dir, 0o700)
}

// probe starts s, connects the SDK client, lists the tools and stops it.
func probe(ctx context.Context, c *mcp.Client, s *server) (initDur, listDur time.Duration, err error) {
	cmd := s.command()
	// Nothing in the environment may make Warden load a policy file.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WARDEN_") })
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t := &mcp.CommandTransport{Command: cmd, TerminateDuration: 10 * time.Second}
	start := time.Now()
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return 0, 0, fmt.Errorf("%s: connect: %w (stderr: %s)", s.label, err, stderr.String())
	}
	initDur = time.Since(start)
	res, err := cs.ListTools(ctx, nil)
	listDur = time.Since(start)
	_ = cs.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: tools/list: %w", s.label, err)
	}
	if len(res.Tools) == 0 {
		return 0, 0, fmt.Errorf("%s: tools/list: no tools", s.label)
	}
	return initDur, listDur, nil
}

// timeExit runs cmd and returns the time from starting it to its end.
func timeExit(cmd *exec.Cmd) (time.Duration, error) {
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WARDEN_") })
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

func quantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func quantileF(f []float64, q float64) float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
