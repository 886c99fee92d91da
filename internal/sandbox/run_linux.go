package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// layersOff are layers switched off, for tests that prove each of the
// others stops an escape alone. Only export_test.go sets it.
var layersOff []string

// sandboxUID is the user a sandboxed program runs as inside its user
// namespace when Warden runs as root. Any id but 0: a program that is not
// root in its namespace loses every capability when it starts.
const sandboxUID = 1000

// Run runs c in a new sandbox and waits until every process in it has
// ended. An error means nothing of the program ran: c is invalid
// (*CommandError) or the sandbox could not be built (*SetupError). How the
// program itself ended, including a limit that killed it, is in the
// Result.
func Run(ctx context.Context, c Command) (Result, error) {
	lim := c.Limits.WithDefaults()
	spec, err := c.childSpec(lim)
	if err != nil {
		return Result{}, err
	}
	return run(ctx, spec, lim, c.Stdin, c.AllowDegraded, layersOff, runIO{stdio: c.Stdio, egress: c.Egress, signals: c.Signals})
}

// runIO are a Command's ways in and out beyond captured output: see
// Command.Stdio, Command.Egress and Command.Signals.
type runIO struct {
	stdio   *Stdio
	egress  func(net.Listener)
	signals <-chan os.Signal
}

// run starts the sandbox spec describes, with the layers in off left out.
func run(ctx context.Context, spec *inside.Spec, lim Limits, stdin []byte, degraded, off []string, x runIO) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: err}
	}
	spec.Off = off
	var err error
	namespaces := !slices.Contains(off, LayerNamespaces)
	spec.Namespaces = namespaces
	for _, m := range spec.Mounts {
		if m.Scratch != "" && !namespaces {
			// Without its own mounts the program would change the host's
			// directory itself.
			return Result{}, &SetupError{Layer: LayerNamespaces, Err: fmt.Errorf("%s: keeping changes apart needs the sandbox's own mounts", m.Path)}
		}
	}
	if x.egress != nil && !namespaces {
		return Result{}, &SetupError{Layer: LayerNamespaces, Err: errors.New("a way out to the egress proxy needs the sandbox's own network namespace")}
	}
	var ruleset *os.File
	if !slices.Contains(off, LayerLandlock) {
		if ruleset, err = landlockRuleset(spec, slices.Contains(degraded, LayerLandlock)); err != nil {
			return Result{}, err
		}
	}
	if ruleset != nil {
		defer ruleset.Close()
	}
	if !slices.Contains(off, LayerSeccomp) {
		if spec.Filter, err = seccompFilter(slices.Contains(degraded, LayerSeccomp)); err != nil {
			return Result{}, err
		}
	}

	specR, specW, err := os.Pipe()
	if err != nil {
		return Result{}, &SetupError{Layer: "start", Err: err}
	}
	defer specW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		specR.Close()
		return Result{}, &SetupError{Layer: "start", Err: err}
	}
	defer errR.Close()
	// The first process sends the egress listener over netOurs.
	var netOurs, netTheirs *os.File
	if x.egress != nil {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			specR.Close()
			errW.Close()
			return Result{}, &SetupError{Layer: "start", Err: fmt.Errorf("egress socket pair: %w", err)}
		}
		netOurs, netTheirs = os.NewFile(uintptr(fds[0]), "egress"), os.NewFile(uintptr(fds[1]), "egress")
		defer netOurs.Close()
	}

	stdout, stderr := &cappedBuffer{max: lim.OutputBytes}, &cappedBuffer{max: lim.OutputBytes}
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe", // this binary, even if the file was replaced since
		Args:       []string{inside.Name},
		Env:        []string{inside.Env + "=1"},
		Stdin:      bytes.NewReader(stdin),
		Stdout:     stdout,
		Stderr:     stderr,
		ExtraFiles: []*os.File{specR, errW}, // inside.SpecFD, inside.ErrorFD
		WaitDelay:  time.Second,
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true,
			Pdeathsig: syscall.SIGKILL, // Warden gone, sandbox gone
		},
	}
	if namespaces {
		uid, gid := os.Geteuid(), os.Getegid()
		inUID, inGID := uid, gid
		if uid == 0 {
			inUID, inGID = sandboxUID, sandboxUID
		}
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
			unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: inUID, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: inGID, HostID: gid, Size: 1}}
		// The first process needs CAP_SYS_ADMIN in its namespace to mount;
		// it gives it up before it runs the program.
		cmd.SysProcAttr.AmbientCaps = []uintptr{unix.CAP_SYS_ADMIN}
		if slices.ContainsFunc(spec.Mounts, func(m inside.Mount) bool { return m.Scratch != "" }) {
			// An overlay acts with its mounter's credentials: its work
			// directory is mode 0, and copying a file up keeps its owner
			// and mode.
			cmd.SysProcAttr.AmbientCaps = append(cmd.SysProcAttr.AmbientCaps, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_CHOWN, unix.CAP_MKNOD)
		}
	}

	if ruleset != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, ruleset) // inside.RulesetFD
	}
	if netTheirs != nil {
		for len(cmd.ExtraFiles) < inside.NetFD-3 {
			cmd.ExtraFiles = append(cmd.ExtraFiles, nil) // no ruleset: closed in the child
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, netTheirs) // inside.NetFD
		// Bringing up the loopback interface needs CAP_NET_ADMIN in the
		// sandbox's namespace; it is dropped with the others before the
		// program runs.
		cmd.SysProcAttr.AmbientCaps = append(cmd.SysProcAttr.AmbientCaps, unix.CAP_NET_ADMIN)
	}
	if x.stdio != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		if x.stdio.Stdin != nil {
			cmd.Stdin = x.stdio.Stdin
		}
		if x.stdio.Stdout != nil {
			cmd.Stdout = x.stdio.Stdout
		}
		if x.stdio.Stderr != nil {
			cmd.Stderr = x.stdio.Stderr
		}
		// A terminal answers reads of its foreground process group only:
		// the sandbox's group takes the terminal while it runs.
		if in := x.stdio.Stdin; in != nil && isTerminal(in) {
			cmd.SysProcAttr.Foreground, cmd.SysProcAttr.Ctty = true, int(in.Fd())
			defer takeTerminal(in)
		}
	}

	start := time.Now()
	// Pdeathsig follows the thread that started the child: keep this
	// goroutine on one thread while it does.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	specR.Close()
	errW.Close()
	if netTheirs != nil {
		netTheirs.Close()
	}
	if err != nil {
		layer := "start"
		if namespaces {
			layer = LayerNamespaces
		}
		return Result{}, &SetupError{Layer: layer, Err: err}
	}
	// The set-up is bounded like the program: a sandbox stuck before its
	// exec (a mount on a hung file system) is killed at the wall limit or
	// when the caller gives up, and reports that as its error.
	setupDone, setupKilled := make(chan struct{}), make(chan string, 1)
	go func() {
		wall, stop := wallTimer(lim.Wall)
		defer stop()
		select {
		case <-setupDone:
			setupKilled <- ""
			return
		case <-wall:
			setupKilled <- KilledByTimeout
		case <-ctx.Done():
			setupKilled <- KilledByCanceled
		}
		cmd.Process.Kill()
	}()
	if _, err := specW.Write(spec.Encode()); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return Result{}, &SetupError{Layer: "start", Err: fmt.Errorf("send the sandbox spec: %w", err)}
	}
	specW.Close()
	// The error pipe closes with the exec: anything on it means the
	// sandbox was not built and nothing ran.
	msg, _ := io.ReadAll(io.LimitReader(errR, 64<<10))
	close(setupDone)
	if why := <-setupKilled; why != "" {
		cmd.Wait()
		return Result{}, &SetupError{Layer: inside.LayerStart, Err: fmt.Errorf("the sandbox was not ready before it was stopped (%s)", why)}
	}
	if len(msg) > 0 {
		cmd.Wait()
		layer, text, _ := strings.Cut(string(msg), "\x00")
		return Result{}, &SetupError{Layer: layer, Err: errors.New(text)}
	}
	if netOurs != nil {
		ln, err := receiveListener(netOurs)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return Result{}, &SetupError{Layer: LayerNamespaces, Err: err}
		}
		defer ln.Close()
		x.egress(ln)
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	wall, stop := wallTimer(lim.Wall)
	defer stop()
	var killedBy string
wait:
	for {
		select {
		case <-done:
			break wait
		case <-wall:
			killedBy = KilledByTimeout
			break wait
		case <-ctx.Done():
			killedBy = KilledByCanceled
			break wait
		case sig := <-x.signals:
			if s, ok := sig.(syscall.Signal); ok {
				syscall.Kill(-cmd.Process.Pid, s)
			}
		}
	}
	if killedBy != "" {
		// The program is the pid namespace's first process: when it dies,
		// the kernel kills every other process in the sandbox.
		cmd.Process.Kill()
		<-done
	}
	r := Result{
		Stdout:    stdout.buf.Bytes(),
		Stderr:    stderr.buf.Bytes(),
		Truncated: stdout.dropped > 0 || stderr.dropped > 0,
		Duration:  time.Since(start),
		KilledBy:  killedBy,
		ExitCode:  cmd.ProcessState.ExitCode(),
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		sig := ws.Signal()
		r.Signal = unix.SignalName(sig)
		if r.KilledBy == "" {
			used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			switch {
			case sig == syscall.SIGXCPU || (sig == syscall.SIGKILL && lim.CPU > 0 && used >= lim.CPU):
				r.KilledBy = KilledByCPU
			case sig == syscall.SIGSYS:
				r.KilledBy = KilledBySeccomp
			default:
				r.KilledBy = KilledBySignal
			}
		}
	}
	return r, nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// takeTerminal makes this process's group the terminal's foreground again.
// A background group asking for that is stopped by SIGTTOU unless it
// ignores the signal, for the moment of the call.
func takeTerminal(tty *os.File) {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	unix.IoctlSetPointerInt(int(tty.Fd()), unix.TIOCSPGRP, syscall.Getpgrp())
}

// wallTimer fires once d has passed; never when d is NoTimeLimit.
func wallTimer(d time.Duration) (<-chan time.Time, func()) {
	if d < 0 {
		return nil, func() {}
	}
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// receiveListener takes the egress listener the sandbox's first process
// sent before it ran the program.
func receiveListener(conn *os.File) (net.Listener, error) {
	const op = "receive the egress listener"
	// Sent before the exec that closed the error pipe: it is waiting.
	buf, oob := make([]byte, 1), make([]byte, syscall.CmsgSpace(4))
	_, oobn, _, _, err := syscall.Recvmsg(int(conn.Fd()), buf, oob, syscall.MSG_DONTWAIT|syscall.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("%s: no file in the message (%v)", op, err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return nil, fmt.Errorf("%s: want one file (%v)", op, err)
	}
	f := os.NewFile(uintptr(fds[0]), "egress listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return ln, nil
}

// cappedBuffer keeps the first max bytes written to it and counts the rest.
type cappedBuffer struct {
	buf     bytes.Buffer
	max     int64
	dropped int64
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - int64(b.buf.Len())
	keep := int64(len(p))
	if keep > room {
		keep = max(room, 0)
	}
	b.buf.Write(p[:keep])
	b.dropped += int64(len(p)) - keep
	return len(p), nil // keep reading, so the program is not blocked on a full pipe
}

// ProcessReport says which layers of a process sandbox this host can
// build.
type ProcessReport struct {
	// Missing maps each layer the host cannot provide to the reason.
	Missing map[string]string
}

// ProbeProcess builds a sandbox that runs nothing, leaving out each layer
// that fails in turn, and reports which did.
func ProbeProcess() ProcessReport {
	r := ProcessReport{Missing: map[string]string{}}
	var off []string
	for range 4 {
		// An empty program: the first process stops once every layer is up.
		spec := &inside.Spec{TmpBytes: uint64(DefaultLimits.TmpBytes)}
		_, err := run(context.Background(), spec, DefaultLimits.WithDefaults(), nil, nil, off, runIO{})
		var se *SetupError
		if !errors.As(err, &se) || se.Layer == inside.LayerStart || r.Missing[se.Layer] != "" {
			if err != nil && se == nil {
				r.Missing[inside.LayerStart] = err.Error()
			}
			break
		}
		r.Missing[se.Layer] = se.Err.Error()
		off = append(off, se.Layer)
	}
	return r
}

// String lists the missing layers, or says the sandbox is whole.
func (r ProcessReport) String() string {
	if len(r.Missing) == 0 {
		return "process sandbox: namespaces, Landlock, seccomp and limits available"
	}
	return "process sandbox: missing " + strings.Join(r.Unaccepted(nil), "; ")
}

// Unaccepted lists, in layer order, each layer the host lacks that is not
// among accepted, as "layer (why)": what keeps a caller accepting those
// from running anything.
func (r ProcessReport) Unaccepted(accepted []string) []string {
	var out []string
	for _, l := range []string{LayerNamespaces, LayerLandlock, LayerSeccomp, LayerLimits, inside.LayerStart} {
		if why, ok := r.Missing[l]; ok && !slices.Contains(accepted, l) {
			out = append(out, l+" ("+why+")")
		}
	}
	return out
}
