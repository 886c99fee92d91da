package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server runs warden serve --http on one loopback port for the whole run,
// restarting it on the same policy and state after each kill.
type server struct {
	bin, addr string
	fx        *fixture
	logf      func(string, ...any)

	mu              sync.Mutex
	cmd             *exec.Cmd
	exited          chan struct{}
	gen             int             // how many times it was started
	kills           []time.Time     // when it was SIGKILLed
	ready           []time.Duration // start → listening, per start
	exits           []string        // unexpected exits (not a kill of ours)
	restartFailures []string
	stderr          *tailBuffer
	stopped         bool
}

func newServer(bin string, fx *fixture, logf func(string, ...any)) *server {
	return &server{bin: bin, fx: fx, logf: logf, stderr: &tailBuffer{max: 40}}
}

// wardenEnv is the environment of every warden process of the run: the
// tokens and the audit key, and no WARDEN_* variable of the caller's.
func (s *server) wardenEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WARDEN_") })
	return append(env, s.fx.env...)
}

// start starts the server and waits until it accepts connections.
func (s *server) start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = false
	if s.addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.addr = ln.Addr().String()
		ln.Close()
	}
	cmd := exec.Command(s.bin, "serve", "--policy", s.fx.policy, "--http", s.addr, "--log-level", "warn")
	cmd.Dir = s.fx.work
	cmd.Env = s.wardenEnv()
	cmd.Stderr = s.stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("server: %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	s.gen++
	gen := s.gen
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		killed := len(s.kills) > 0 && s.kills[len(s.kills)-1].After(began)
		if !killed && !s.stopped {
			s.exits = append(s.exits, fmt.Sprintf("start %d exited by itself: %v", gen, err))
		}
		s.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			s.ready = append(s.ready, time.Since(began))
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server: warden serve exited before listening on %s; its last output:\n%s", s.addr, s.stderr.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server: warden serve did not listen on %s within 20s", s.addr)
		}
	}
}

// pid is the running server's process id, 0 if none.
func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	select {
	case <-s.exited:
		return 0
	default:
		return s.cmd.Process.Pid
	}
}

// kill SIGKILLs the server and waits until it is gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.kills = append(s.kills, time.Now())
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the server gracefully (SIGINT, then SIGKILL after 10 s);
// calling it again does nothing.
func (s *server) stop() {
	s.mu.Lock()
	cmd, exited, stopped := s.cmd, s.exited, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if cmd == nil || stopped {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// lastKill is when the server was last SIGKILLed (zero if never).
func (s *server) lastKill() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.kills) == 0 {
		return time.Time{}
	}
	return s.kills[len(s.kills)-1]
}

// tailBuffer keeps the last lines written to it: the server's stderr.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
	total int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	text := b.part + string(p)
	parts := strings.Split(text, "\n")
	b.part = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		b.total++
		b.lines = append(b.lines, l)
		if len(b.lines) > b.max {
			b.lines = b.lines[1:]
		}
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(append(slices.Clone(b.lines), b.part), "\n")
}

// count is how many whole lines were written.
func (b *tailBuffer) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}
