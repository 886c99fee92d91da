package sandbox

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// A process confined by Landlock cannot build a sandbox: Landlock forbids
// it new mounts, and its write of the child's uid_map is refused. A
// Launcher is a process of Warden's own binary started before Warden
// confines itself, which builds sandboxes for it over a socket pair.
//
// The launcher is told at start which programs and paths it may ever
// show a sandbox, and refuses any request beyond them: were Warden itself
// subverted after confining itself, the launcher still would not run
// anything the policy never named.
type Launcher struct {
	conn *os.File
	proc *exec.Cmd

	wmu     sync.Mutex // one frame at a time
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan launchReply
	err     error // set once the launcher is gone
	done    chan struct{}
}

// Envelope is everything a launcher may ever show a sandbox.
type Envelope struct {
	Programs []string // absolute paths
	Paths    []Path   // with the widest access any request may have
}

const (
	launcherName = "warden-sandbox-launcher"
	launcherEnv  = "WARDEN_SANDBOX_LAUNCHER"
	launcherFD   = 3
	maxFrame     = 64 << 20
)

type launchRequest struct {
	Cancel  bool    `json:",omitempty"`
	Command Command `json:",omitzero"`
}

type launchReply struct {
	Result Result
	Err    string `json:",omitempty"`
	Layer  string `json:",omitempty"` // set for a SetupError
	Field  string `json:",omitempty"` // set for a CommandError
}

// StartLauncher starts a launcher that may run what env allows. Call it
// before the process confines itself; Close it when done.
func StartLauncher(env Envelope) (*Launcher, error) {
	const op = "sandbox launcher"
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "launcher"), os.NewFile(uintptr(fds[1]), "launcher")
	defer theirs.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{launcherName},
		Env:         []string{launcherEnv + "=1"},
		ExtraFiles:  []*os.File{theirs}, // launcherFD
		Stderr:      os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	l := &Launcher{conn: ours, proc: cmd, pending: map[uint64]chan launchReply{}, done: make(chan struct{})}
	body, err := json.Marshal(env)
	if err == nil {
		err = writeFrame(ours, 0, body)
	}
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	go l.readReplies()
	return l, nil
}

// Run runs c through the launcher, as [Run] would in this process.
func (l *Launcher) Run(ctx context.Context, c Command) (Result, error) {
	body, err := json.Marshal(launchRequest{Command: c})
	if err != nil {
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: err}
	}
	ch := make(chan launchReply, 1)
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: l.err}
	}
	l.nextID++
	id := l.nextID
	l.pending[id] = ch
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.pending, id)
		l.mu.Unlock()
	}()
	if err := l.send(id, body); err != nil {
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: err}
	}
	select {
	case r := <-ch:
		return r.result()
	case <-ctx.Done():
		cancel, _ := json.Marshal(launchRequest{Cancel: true})
		l.send(id, cancel)
		// The launcher kills the sandbox and answers with what it had.
		select {
		case r := <-ch:
			return r.result()
		case <-l.done:
			return Result{}, &SetupError{Layer: inside.LayerStart, Err: l.err}
		}
	case <-l.done:
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: l.err}
	}
}

func (r launchReply) result() (Result, error) {
	switch {
	case r.Err == "":
		return r.Result, nil
	case r.Field != "":
		return Result{}, &CommandError{Field: r.Field, Msg: r.Err}
	default:
		return Result{}, &SetupError{Layer: r.Layer, Err: errors.New(r.Err)}
	}
}

func (l *Launcher) send(id uint64, body []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return writeFrame(l.conn, id, body)
}

func (l *Launcher) readReplies() {
	r := bufio.NewReader(l.conn)
	var err error
	for {
		var id uint64
		var body []byte
		if id, body, err = readFrame(r); err != nil {
			break
		}
		var reply launchReply
		if err = json.Unmarshal(body, &reply); err != nil {
			break
		}
		l.mu.Lock()
		ch := l.pending[id]
		l.mu.Unlock()
		if ch != nil {
			ch <- reply
		}
	}
	l.mu.Lock()
	l.err = fmt.Errorf("the sandbox launcher stopped: %w", err)
	l.mu.Unlock()
	close(l.done)
}

// Close stops the launcher; sandboxes still running are killed with it.
func (l *Launcher) Close() error {
	l.conn.Close()
	l.proc.Process.Kill()
	l.proc.Wait()
	return nil
}

// Frames on the socket pair: request id (8 bytes), length (4), body.
func writeFrame(w io.Writer, id uint64, body []byte) error {
	if len(body) > maxFrame {
		return fmt.Errorf("a message of %d bytes exceeds %d", len(body), maxFrame)
	}
	var head [12]byte
	binary.BigEndian.PutUint64(head[:8], id)
	binary.BigEndian.PutUint32(head[8:], uint32(len(body)))
	_, err := (&net.Buffers{head[:], body}).WriteTo(w)
	return err
}

func readFrame(r io.Reader) (uint64, []byte, error) {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[8:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("a message of %d bytes exceeds %d", n, maxFrame)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return binary.BigEndian.Uint64(head[:8]), body, err
}

func init() {
	if v, ok := os.LookupEnv(launcherEnv); !ok || v != "1" || len(os.Args) == 0 || os.Args[0] != launcherName {
		return
	}
	os.Exit(serveLauncher(os.NewFile(launcherFD, "launcher")))
}

// serveLauncher is the launcher process: it reads its envelope, then runs
// each request in a goroutine until its parent closes the socket.
func serveLauncher(conn *os.File) int {
	r := bufio.NewReader(conn)
	_, body, err := readFrame(r)
	var env Envelope
	if err == nil {
		err = json.Unmarshal(body, &env)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "warden: sandbox launcher: read the envelope: %v\n", err)
		return 1
	}
	for i, p := range env.Paths {
		if real, err := filepath.EvalSymlinks(p.Path); err == nil {
			env.Paths[i].Path = real
		}
	}
	var wmu, mu sync.Mutex
	cancels := map[uint64]context.CancelFunc{}
	reply := func(id uint64, rep launchReply) {
		b, _ := json.Marshal(rep)
		wmu.Lock()
		defer wmu.Unlock()
		writeFrame(conn, id, b)
	}
	for {
		id, body, err := readFrame(r)
		if err != nil {
			return 0 // the parent is gone: the sandboxes die with this process
		}
		var req launchRequest
		if err := json.Unmarshal(body, &req); err != nil {
			reply(id, launchReply{Err: "malformed request", Layer: inside.LayerStart})
			continue
		}
		mu.Lock()
		if req.Cancel {
			if cancel := cancels[id]; cancel != nil {
				cancel()
			}
			mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancels[id] = cancel
		mu.Unlock()
		go func() {
			defer func() {
				mu.Lock()
				delete(cancels, id)
				mu.Unlock()
				cancel()
			}()
			c, cerr := env.allows(req.Command)
			if cerr != nil {
				reply(id, launchReply{Err: cerr.Msg, Field: cerr.Field})
				return
			}
			res, err := Run(ctx, c)
			var ce *CommandError
			var se *SetupError
			switch {
			case errors.As(err, &ce):
				reply(id, launchReply{Err: ce.Msg, Field: ce.Field})
			case errors.As(err, &se):
				reply(id, launchReply{Err: se.Err.Error(), Layer: se.Layer})
			case err != nil:
				reply(id, launchReply{Err: err.Error(), Layer: inside.LayerStart})
			default:
				reply(id, launchReply{Result: res})
			}
		}()
	}
}

// allows checks c against the envelope, and returns it with its paths
// resolved through symbolic links as the check saw them.
func (env Envelope) allows(c Command) (Command, *CommandError) {
	ok := false
	for _, p := range env.Programs {
		ok = ok || p == c.Program
	}
	if !ok {
		return c, &CommandError{Field: "program", Msg: fmt.Sprintf("%s is not a program the policy names", c.Program)}
	}
	paths := make([]Path, len(c.Paths))
	for i, p := range c.Paths {
		real, err := filepath.EvalSymlinks(p.Path)
		if err != nil {
			return c, &CommandError{Field: "paths", Msg: err.Error()}
		}
		if !env.covers(real, p.Access) {
			return c, &CommandError{Field: "paths", Msg: fmt.Sprintf("%s (%s) is beyond what the policy names", p.Path, p.Access)}
		}
		p.Path = real
		if p.Scratch != "" {
			scratch, err := filepath.EvalSymlinks(p.Scratch)
			if err != nil {
				return c, &CommandError{Field: "paths", Msg: err.Error()}
			}
			if !env.covers(scratch, Write) {
				return c, &CommandError{Field: "paths", Msg: fmt.Sprintf("scratch %s is beyond what the policy names", p.Scratch)}
			}
			p.Scratch = scratch
		}
		paths[i] = p
	}
	c.Paths = paths
	return c, nil
}

// covers reports whether the envelope grants access to the resolved path
// real.
func (env Envelope) covers(real string, access Access) bool {
	for _, e := range env.Paths {
		if inside.Within(real, e.Path) && access <= e.Access {
			return true
		}
	}
	return false
}
