package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/bench/internal/procstat"
)

// A caller makes tool calls on a running server and times them.
type caller interface {
	// callTool calls a tool and returns its result and how long the call
	// took, from sending the request to having the response.
	callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, time.Duration, error)
	close()
}

// exitWait is how long a server may take to exit after its stdin closes
// before it is signalled; tracing tools such as strace need a while.
const exitWait = 10 * time.Second

// session is one running server with a connected caller.
type session struct {
	srv      *server
	c        caller
	pid      int
	protocol string
	calls    [numRows]call
	// done counts the calls of each row made so far, including warm-up:
	// the next call's iteration number.
	done [numRows]int
}

func (s *session) close() { s.c.close() }

// sdkCaller calls through the official Go SDK client.
type sdkCaller struct{ cs *mcp.ClientSession }

func (c sdkCaller) callTool(ctx context.Context, name string, args map[string]any) (*mcp.CallToolResult, time.Duration, error) {
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	t0 := time.Now()
	res, err := c.cs.CallTool(ctx, params)
	return res, time.Since(t0), err
}

func (c sdkCaller) close() { _ = c.cs.Close() }

// connect starts a server and connects the SDK client to it. It returns how
// long the client took from starting the process to a completed handshake
// (initialize, or server/discover where both sides speak it) and to the
// first tools/list result, with the tools listed.
func connect(ctx context.Context, c *mcp.Client, srv *server, opts *mcp.ClientSessionOptions, env []string, stderr io.Writer) (s *session, tools []*mcp.Tool, initDur, listDur time.Duration, err error) {
	cmd := srv.command()
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = stderr
	t := &mcp.CommandTransport{Command: cmd, TerminateDuration: exitWait}
	start := time.Now()
	cs, err := c.Connect(ctx, t, opts)
	if err != nil {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return nil, nil, 0, 0, fmt.Errorf("%s: connect: %w", srv.name, err)
	}
	initDur = time.Since(start)
	res, err := cs.ListTools(ctx, nil)
	listDur = time.Since(start)
	s = &session{srv: srv, c: sdkCaller{cs}, pid: cmd.Process.Pid, protocol: cs.InitializeResult().ProtocolVersion}
	if err != nil {
		s.close()
		return nil, nil, 0, 0, fmt.Errorf("%s: tools/list: %w", srv.name, err)
	}
	return s, res.Tools, initDur, listDur, nil
}

// startup measures start-ups of srv: process start → handshake, and
// process start → first tools/list.
type startup struct{ init, list []time.Duration }

func probeStart(ctx context.Context, c *mcp.Client, srv *server, opts *mcp.ClientSessionOptions, stderr io.Writer) (initDur, listDur time.Duration, err error) {
	s, _, initDur, listDur, err := connect(ctx, c, srv, opts, nil, stderr)
	if err != nil {
		return 0, 0, err
	}
	s.close()
	return initDur, listDur, nil
}

// batch is the latencies of one round of a row on one server, and the CPU
// time the server process used over the round.
type batch struct {
	lat []time.Duration
	cpu time.Duration
}

// runBatch makes up to n sequential calls of row r, stopping early after
// limit, and checks every result and, for rows that change a file, the
// file. It returns the latencies: only the call itself is timed.
func (s *session) runBatch(ctx context.Context, r row, n int, limit time.Duration) ([]time.Duration, error) {
	c := s.calls[r]
	lat := make([]time.Duration, 0, n)
	begin := time.Now()
	for i := 0; i < n && (i == 0 || time.Since(begin) < limit); i++ {
		it := s.done[r]
		res, d, err := s.c.callTool(ctx, c.tool, c.args(it))
		if err != nil {
			return lat, fmt.Errorf("%s %s: %w", s.srv.name, r, err)
		}
		s.done[r]++
		if err := c.check(it, res); err != nil {
			return lat, fmt.Errorf("%s %s call %d: %w", s.srv.name, r, it, err)
		}
		lat = append(lat, d)
	}
	return lat, nil
}

// runRound makes each session's batch of n calls of row r in slices of
// slice calls, the sessions taking turns slice by slice in an order
// rotated from turn, so that a burst of load from elsewhere on the machine
// falls on every server alike. A session stops after limit of its own
// time. Each batch's CPU time is the server's over the whole round, so
// work it does between its calls counts too.
func runRound(ctx context.Context, sessions []*session, r row, n, slice int, limit time.Duration, turn int) ([]batch, error) {
	bs := make([]batch, len(sessions))
	spent := make([]time.Duration, len(sessions))
	cpu0 := make([]time.Duration, len(sessions))
	for j, s := range sessions {
		var err error
		if cpu0[j], err = cpuTime(s.pid); err != nil {
			return nil, err
		}
	}
	for done, sl := 0, 0; done < n; done, sl = done+slice, sl+1 {
		m := min(slice, n-done)
		for _, j := range rotation(len(sessions), turn+sl) {
			if done > 0 && spent[j] >= limit {
				continue
			}
			begin := time.Now()
			lat, err := sessions[j].runBatch(ctx, r, m, limit-spent[j])
			if err != nil {
				return nil, err
			}
			spent[j] += time.Since(begin)
			bs[j].lat = append(bs[j].lat, lat...)
		}
	}
	for j, s := range sessions {
		cpu1, err := cpuTime(s.pid)
		if err != nil {
			return nil, err
		}
		bs[j].cpu = cpu1 - cpu0[j]
	}
	return bs, nil
}

// clockTick is the unit of /proc/PID/stat times (USER_HZ), 100 a second
// on every mainstream Linux build.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user plus system CPU time of a process, all threads
// included, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, may hold spaces; the fields after its
	// closing parenthesis start with field 3.
	i := strings.LastIndexByte(string(raw), ')')
	f := strings.Fields(string(raw[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// stats summarise a batch.
type stats struct {
	n        int
	perSec   float64 // calls a second of one sequential client: n / Σ latency
	p50, p99 time.Duration
	cpu      time.Duration // the server's CPU time per call
}

func (b batch) stats() stats {
	if len(b.lat) == 0 {
		return stats{}
	}
	s := slices.Clone(b.lat)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return stats{n: len(s), perSec: float64(len(s)) / sum.Seconds(), p50: quantile(s, 0.50), p99: quantile(s, 0.99), cpu: b.cpu / time.Duration(len(s))}
}

// quantile returns the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// memory is a process's resident set in bytes: its anonymous part now,
// all of it now, and all of it at its peak (see procstat.Memory).
type memory struct{ anon, rss, hwm int64 }

// readMemory reads RssAnon, VmRSS and VmHWM from /proc/PID/status.
func readMemory(pid int) (memory, error) {
	m, err := procstat.ReadMemory(pid)
	return memory{anon: m.Anon, rss: m.RSS, hwm: m.HWM}, err
}

// version runs a command and returns its first line of output, or "?".
func version(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
