package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// A Command is a program to run in a sandbox of its own.
//
// The program sees a minimal root: the system directories it needs to run,
// read-only; a private /tmp and a /dev with only null, zero, full, random
// and urandom; its own /proc; and beneath its Paths nothing but what they
// name, read-only unless a Path says Write. It has no network, no other
// process to see and no way to gain privilege. Each of those holds through
// layers that do not depend on one another: namespaces and the mounts
// built in them, Landlock restating the same paths, a seccomp filter that
// refuses the kernel interfaces no tool needs, and resource limits.
type Command struct {
	// Program is the absolute path of the executable. It must lie beneath a
	// system directory or one of Paths.
	Program string
	// Args are the arguments after the program's name, passed as they are:
	// nothing splits or expands them.
	Args []string
	// Env is the whole environment, "NAME=value" each; nothing of Warden's
	// own environment is passed.
	Env []string
	// Dir is the working directory, beneath one of Paths; "/" when empty.
	Dir string
	// Paths are the host files and directories the program may see, at the
	// same absolute paths, read-only or writable.
	Paths []Path
	// Stdin is what the program reads; nothing (end of file) when nil.
	Stdin []byte
	// Limits bound what the program may use; zero fields take
	// DefaultLimits' values.
	Limits Limits
	// AllowDegraded are layers the caller accepts the kernel not offering
	// (LayerLandlock, LayerSeccomp). Without it, a missing layer is a
	// SetupError and nothing runs.
	AllowDegraded []string

	// Egress, when set, gives the program one way out of its empty
	// network: a TCP listener at 127.0.0.1:EgressPort inside its own
	// network namespace, named by HTTP_PROXY, HTTPS_PROXY, http_proxy and
	// https_proxy. Run hands the listener to Egress once the sandbox is
	// built, before the program runs, and closes it when the sandbox ends;
	// whoever serves it (Warden's egress proxy) decides where a connection
	// goes. Landlock lets the program connect to that port only. Run in
	// this process only, not through a Launcher.
	Egress func(net.Listener) `json:"-"`
	// Stdio, when set, are the program's stdin, stdout and stderr as they
	// are, the caller's own files: nothing is captured, and Stdin and
	// Limits.OutputBytes do not apply.
	Stdio *Stdio `json:"-"`
	// Signals received on it while the program runs are sent to its
	// process group. The program is the first process of its pid
	// namespace, so a signal it has no handler for is not delivered; the
	// caller's context (or the wall limit) ends it for certain.
	Signals <-chan os.Signal `json:"-"`
}

// EgressPort is the port of 127.0.0.1, inside a sandbox, where a Command
// with Egress finds its way out.
const EgressPort = 3128

// Stdio are files given to a sandboxed program as they are.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

// NoTimeLimit in Limits.Wall or Limits.CPU means no limit at all.
const NoTimeLimit time.Duration = -1

// Limits bound a sandboxed program. The whole sandbox (every process the
// program started) is killed when Wall or CPU runs out.
type Limits struct {
	Wall        time.Duration // from start to the end of every process
	CPU         time.Duration // processor time of the program
	Memory      int64         // bytes of data segment and anonymous memory of each process
	FileSize    int64         // largest file a process may write
	Processes   int           // processes (threads included) the sandbox may hold at once
	OpenFiles   int           // open files of each process
	OutputBytes int64         // bytes kept of stdout and of stderr each; the rest is counted and dropped
	TmpBytes    int64         // size of the private /tmp
}

// DefaultLimits apply where a Command's Limits leave a field zero.
var DefaultLimits = Limits{
	Wall:        60 * time.Second,
	CPU:         60 * time.Second,
	Memory:      1 << 30,
	FileSize:    1 << 30,
	Processes:   256,
	OpenFiles:   1024,
	OutputBytes: 1 << 20,
	TmpBytes:    64 << 20,
}

// WithDefaults returns l with DefaultLimits in every zero field.
func (l Limits) WithDefaults() Limits {
	pick := func(v, d int64) int64 {
		if v > 0 {
			return v
		}
		return d
	}
	d := DefaultLimits
	return Limits{
		Wall:        pickTime(l.Wall, d.Wall),
		CPU:         pickTime(l.CPU, d.CPU),
		Memory:      pick(l.Memory, d.Memory),
		FileSize:    pick(l.FileSize, d.FileSize),
		Processes:   int(pick(int64(l.Processes), int64(d.Processes))),
		OpenFiles:   int(pick(int64(l.OpenFiles), int64(d.OpenFiles))),
		OutputBytes: pick(l.OutputBytes, d.OutputBytes),
		TmpBytes:    pick(l.TmpBytes, d.TmpBytes),
	}
}

// pickTime is v, or d when v is zero; NoTimeLimit stays.
func pickTime(v, d time.Duration) time.Duration {
	switch {
	case v < 0:
		return NoTimeLimit
	case v == 0:
		return d
	}
	return v
}

// Why a sandbox was killed, in a [Result].
const (
	KilledByTimeout  = "timeout"   // Limits.Wall ran out
	KilledByCPU      = "cpu_time"  // Limits.CPU ran out
	KilledByCanceled = "canceled"  // the caller's context ended
	KilledBySignal   = "signal"    // a signal from inside the sandbox, or the kernel (memory)
	KilledBySeccomp  = "forbidden" // the program made a system call the sandbox forbids outright
)

// Result is how a sandboxed program ended.
type Result struct {
	ExitCode  int // -1 when a signal ended it
	Stdout    []byte
	Stderr    []byte
	Truncated bool // stdout or stderr exceeded Limits.OutputBytes
	Duration  time.Duration
	// KilledBy says why the sandbox was ended from outside, or by which
	// kind of signal; empty when the program exited on its own.
	KilledBy string
	// Signal names the signal that ended the program, if one did.
	Signal string
}

// ErrUnsupported is returned where this system cannot build a sandbox.
var ErrUnsupported = errors.New("sandboxed commands need Linux")

// Layers of a process sandbox, as named in errors and in
// Command.AllowDegraded.
const (
	LayerNamespaces = inside.LayerNamespaces // user, mount, pid, ipc, uts and network namespaces, and the minimal root
	LayerLandlock   = inside.LayerLandlock   // the same paths restated to the kernel
	LayerSeccomp    = inside.LayerSeccomp    // the system-call filter and no_new_privs
	LayerLimits     = inside.LayerLimits     // resource limits
)

// SetupError is a sandbox that could not be built: nothing of the program
// ran.
type SetupError struct {
	Layer string // one of the Layer constants, or "start"
	Err   error
}

func (e *SetupError) Error() string {
	return fmt.Sprintf("sandbox: %s: %v", e.Layer, e.Err)
}

func (e *SetupError) Unwrap() error { return e.Err }

// CommandError is a Command that cannot be run as given.
type CommandError struct {
	Field string // "program", "args", "env", "dir" or "paths"
	Msg   string
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("sandbox: %s: %s", e.Field, e.Msg)
}
