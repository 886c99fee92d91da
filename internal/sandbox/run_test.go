//go:build linux

package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/sandbox"
)

const (
	sh     = "/bin/sh"
	python = "/usr/bin/python3"
)

// needSandbox skips a test where this machine cannot build a sandbox,
// unless WARDEN_REQUIRE_SANDBOX=1 (CI sets it) makes that a failure.
func needSandbox(t *testing.T) {
	t.Helper()
	_, err := sandbox.Run(context.Background(), sandbox.Command{Program: sh, Args: []string{"-c", "true"}})
	if err == nil {
		return
	}
	if os.Getenv("WARDEN_REQUIRE_SANDBOX") == "1" {
		t.Fatalf("WARDEN_REQUIRE_SANDBOX=1 but no sandbox can be built here: %v", err)
	}
	t.Skipf("SKIPPED: no sandbox can be built on this machine: %v", err)
}

func needPython(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Skipf("no %s: %v", python, err)
	}
}

func run(t *testing.T, c sandbox.Command) sandbox.Result {
	t.Helper()
	r, err := sandbox.Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestRun_argsEnvStdinAndExit(t *testing.T) {
	needSandbox(t)
	t.Setenv("WARDEN_TEST_SECRET", "hunter2") // Warden's environment must not reach the program
	r := run(t, sandbox.Command{
		Program: sh,
		Args:    []string{"-c", `printf '%s|' "$0" "$1" "$GREETING" "$WARDEN_TEST_SECRET"; cat; exit 3`, "two words", "$(id)"},
		Env:     []string{"GREETING=hello"},
		Stdin:   []byte("from stdin"),
	})
	if want := "two words|$(id)|hello||from stdin"; string(r.Stdout) != want {
		t.Errorf("stdout = %q, want %q (arguments as given, only the given environment)", r.Stdout, want)
	}
	if r.ExitCode != 3 || r.KilledBy != "" {
		t.Errorf("exit = %d, killed by %q; want 3 and nothing", r.ExitCode, r.KilledBy)
	}
}

func TestRun_outputCapped(t *testing.T) {
	needSandbox(t)
	r := run(t, sandbox.Command{
		Program: sh, Args: []string{"-c", "head -c 100000 /dev/zero; echo done >&2"},
		Limits: sandbox.Limits{OutputBytes: 1000},
	})
	if len(r.Stdout) != 1000 || !r.Truncated || string(r.Stderr) != "done\n" || r.ExitCode != 0 {
		t.Errorf("stdout %d bytes, truncated %v, stderr %q, exit %d; want 1000, true, done, 0", len(r.Stdout), r.Truncated, r.Stderr, r.ExitCode)
	}
}

func TestRun_invalidCommand(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]sandbox.Command{
		"relative program": {Program: "sh"},
		"missing program":  {Program: "/no/such/program"},
		"not executable":   {Program: "/etc/passwd"},
		"NUL in argument":  {Program: sh, Args: []string{"a\x00b"}},
		"bad environment":  {Program: sh, Env: []string{"NOEQUALS"}},
		"whole host":       {Program: sh, Paths: []sandbox.Path{{Path: "/"}}},
		"dir outside":      {Program: sh, Dir: dir},
	} {
		_, err := sandbox.Run(context.Background(), c)
		var ce *sandbox.CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a CommandError", name, err)
		}
	}
}

// layerSets are the configurations an escape is tried under: everything,
// and each layer alone that exists to stop it.
var layerSets = map[string][]string{
	"all":             nil,
	"namespaces only": {sandbox.LayerLandlock, sandbox.LayerSeccomp},
	"landlock only":   {sandbox.LayerNamespaces, sandbox.LayerSeccomp},
	"seccomp only":    {sandbox.LayerNamespaces, sandbox.LayerLandlock},
}

// escape is an attack a sandboxed program tries, and the layers each of
// which must stop it alone.
type escape struct {
	name     string
	stoppers []string // layer sets (keys of layerSets) that must stop it
	script   func(f *fixture) string
}

// fixture is a work directory the program may write, a read-only
// directory, and a secret beside them it must never see.
type fixture struct {
	work, readonly, outside, secret string
}

const secretText = "s3cr3t-do-not-leak"

func newFixture(t *testing.T) *fixture {
	base := t.TempDir()
	f := &fixture{
		work:     filepath.Join(base, "work"),
		readonly: filepath.Join(base, "docs"),
		outside:  filepath.Join(base, "outside"),
	}
	f.secret = filepath.Join(f.outside, "secret.txt")
	for _, d := range []string{f.work, f.readonly, f.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, f.secret, secretText)
	write(t, filepath.Join(f.readonly, "guide.txt"), "read me")
	return f
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) command(script string) sandbox.Command {
	return sandbox.Command{
		Program: sh, Args: []string{"-c", script}, Dir: f.work,
		Paths:  []sandbox.Path{{Path: f.work, Access: sandbox.Write}, {Path: f.readonly, Access: sandbox.Read}},
		Limits: sandbox.Limits{Wall: 20 * time.Second},
	}
}

// unchanged checks that nothing outside the grants was read or written.
func (f *fixture) unchanged(t *testing.T, r sandbox.Result) {
	t.Helper()
	if bytes.Contains(r.Stdout, []byte(secretText)) || bytes.Contains(r.Stderr, []byte(secretText)) {
		t.Errorf("the secret leaked:\nstdout: %s\nstderr: %s", r.Stdout, r.Stderr)
	}
	if b, err := os.ReadFile(f.secret); err != nil || string(b) != secretText {
		t.Errorf("the secret changed: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(f.outside)
	if len(entries) != 1 {
		t.Errorf("outside holds %d entries, want only the secret", len(entries))
	}
	if b, err := os.ReadFile(filepath.Join(f.readonly, "guide.txt")); err != nil || string(b) != "read me" {
		t.Errorf("the read-only grant changed: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(f.readonly); len(entries) != 1 {
		t.Errorf("the read-only grant holds %d entries, want 1", len(entries))
	}
}

func TestRun_fileEscapes(t *testing.T) {
	needSandbox(t)
	escapes := []escape{
		{name: "read a file outside the grants", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string { return "cat " + f.secret }},
		{name: "read /etc/shadow", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string { return "cat /etc/shadow && echo " + secretText }},
		{name: "write outside the grants", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string { return "echo x > " + f.outside + "/new; echo x >> " + f.secret }},
		{name: "write a read-only grant", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string {
				return "echo x >> " + f.readonly + "/guide.txt; echo x > " + f.readonly + "/new; rm -f " + f.readonly + "/guide.txt"
			}},
		{name: "follow a symbolic link out", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string { return "ln -s " + f.secret + " link && cat link" }},
		{name: "through /proc/1/root", stoppers: []string{"all", "namespaces only", "landlock only"},
			script: func(f *fixture) string { return "cat /proc/1/root" + f.secret + "; cat /proc/self/root" + f.secret }},
	}
	for _, e := range escapes {
		for _, set := range e.stoppers {
			t.Run(e.name+"/"+set, func(t *testing.T) {
				sandbox.SwitchOff(t, layerSets[set]...)
				f := newFixture(t)
				r := run(t, f.command(e.script(f)))
				f.unchanged(t, r)
			})
		}
	}
}

func TestRun_grantsWork(t *testing.T) {
	needSandbox(t)
	f := newFixture(t)
	r := run(t, f.command("cat "+f.readonly+"/guide.txt && echo made > made.txt && cat made.txt && echo tmp > /tmp/t && cat /tmp/t"))
	if string(r.Stdout) != "read memade\ntmp\n" || r.ExitCode != 0 {
		t.Fatalf("stdout %q, stderr %q, exit %d", r.Stdout, r.Stderr, r.ExitCode)
	}
	if b, err := os.ReadFile(filepath.Join(f.work, "made.txt")); err != nil || string(b) != "made\n" {
		t.Errorf("the work directory's file: %q, %v", b, err)
	}
}

func TestRun_noInheritedFiles(t *testing.T) {
	needSandbox(t)
	held, err := os.Open("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := run(t, sandbox.Command{Program: sh, Args: []string{"-c", "ls /proc/self/fd"}})
	// sh's own fds 0-2, and the directory ls reads.
	if fds := strings.Fields(string(r.Stdout)); len(fds) > 4 {
		t.Errorf("the program holds files %v: want only 0, 1, 2 and the listing's own", fds)
	}
}

func TestRun_limits(t *testing.T) {
	needSandbox(t)
	t.Run("wall time", func(t *testing.T) {
		start := time.Now()
		r := run(t, sandbox.Command{Program: sh, Args: []string{"-c", "sleep 30"}, Limits: sandbox.Limits{Wall: 300 * time.Millisecond}})
		if r.KilledBy != sandbox.KilledByTimeout || time.Since(start) > 10*time.Second {
			t.Errorf("killed by %q after %v; want timeout, promptly", r.KilledBy, time.Since(start))
		}
	})
	t.Run("cpu time", func(t *testing.T) {
		r := run(t, sandbox.Command{Program: sh, Args: []string{"-c", "while :; do :; done"}, Limits: sandbox.Limits{CPU: time.Second, Wall: 20 * time.Second}})
		if r.KilledBy != sandbox.KilledByCPU {
			t.Errorf("killed by %q (signal %s); want %s", r.KilledBy, r.Signal, sandbox.KilledByCPU)
		}
	})
	t.Run("file size", func(t *testing.T) {
		f := newFixture(t)
		c := f.command("dd if=/dev/zero of=big bs=1024 count=4096")
		c.Limits.FileSize = 64 << 10
		run(t, c)
		if fi, err := os.Stat(filepath.Join(f.work, "big")); err == nil && fi.Size() > 64<<10 {
			t.Errorf("wrote %d bytes past a limit of %d", fi.Size(), 64<<10)
		}
	})
	t.Run("memory", func(t *testing.T) {
		needPython(t)
		r := run(t, sandbox.Command{Program: python, Args: []string{"-c", "b = bytearray(1 << 30); print('allocated')"}, Limits: sandbox.Limits{Memory: 256 << 20}})
		if bytes.Contains(r.Stdout, []byte("allocated")) || r.ExitCode == 0 {
			t.Errorf("a 1 GiB allocation under a 256 MiB limit: exit %d, stdout %q", r.ExitCode, r.Stdout)
		}
	})
	t.Run("processes", func(t *testing.T) {
		needPython(t)
		// Forks until the kernel refuses; each child waits to be killed.
		script := `import os, time
n = 0
try:
    for _ in range(2000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    pass
print(n)`
		r := run(t, sandbox.Command{Program: python, Args: []string{"-c", script}, Limits: sandbox.Limits{Processes: 20, Wall: 20 * time.Second}})
		// RLIMIT_NPROC holds at 20 for an ordinary user; for one mapped to
		// the host's root, the sandbox's own pid_max holds at 300.
		limit := 20
		if os.Geteuid() == 0 {
			limit = 300
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(r.Stdout)))
		if err != nil || n >= limit || r.KilledBy != "" {
			t.Errorf("forked %q (%v) processes, killed by %q: want fewer than %d, refused by the kernel", r.Stdout, err, r.KilledBy, limit)
		}
	})
}

// TestRun_noOrphans: when the program ends, everything it started ends too.
func TestRun_noOrphans(t *testing.T) {
	needSandbox(t)
	marker := "98765.4321"
	run(t, sandbox.Command{Program: sh, Args: []string{"-c", "sleep " + marker + " & echo started"}})
	time.Sleep(100 * time.Millisecond)
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s is still running: %q", p, b)
		}
	}
}

// listener records every connection made to it.
type listener struct {
	addr     string
	accepted chan struct{}
}

func listen(t *testing.T, network, address string) *listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	l := &listener{addr: ln.Addr().String(), accepted: make(chan struct{}, 16)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.accepted <- struct{}{}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return l
}

func (l *listener) sawNothing(t *testing.T) {
	t.Helper()
	select {
	case <-l.accepted:
		t.Errorf("the listener on %s accepted a connection from the sandbox", l.addr)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestRun_networkEscapes(t *testing.T) {
	needSandbox(t)
	needPython(t)
	tcp4 := listen(t, "tcp4", "127.0.0.1:0")
	tcp6 := listen(t, "tcp6", "[::1]:0")
	abstract := listen(t, "unix", "@warden-sandbox-test-"+strconv.Itoa(os.Getpid()))
	connect := func(family, addr string) string {
		return "import socket\ns = socket.socket(socket." + family + ", socket.SOCK_STREAM)\ns.settimeout(2)\ns.connect(" + addr + ")\nprint('connected')"
	}
	host4, port4, _ := net.SplitHostPort(tcp4.addr)
	host6, port6, _ := net.SplitHostPort(tcp6.addr)
	cases := []struct {
		name     string
		l        *listener
		script   string
		stoppers []string
	}{
		{"TCP to 127.0.0.1", tcp4, connect("AF_INET", "('"+host4+"', "+port4+")"), []string{"all", "namespaces only", "landlock only"}},
		{"TCP to ::1", tcp6, connect("AF_INET6", "('"+host6+"', "+port6+")"), []string{"all", "namespaces only", "landlock only"}},
		{"abstract UNIX socket", abstract, connect("AF_UNIX", "'\\0"+strings.TrimPrefix(abstract.addr, "@")+"'"), []string{"all", "namespaces only", "landlock only"}},
	}
	for _, c := range cases {
		for _, set := range c.stoppers {
			t.Run(c.name+"/"+set, func(t *testing.T) {
				// Landlock restricts TCP from ABI 4 (Linux 6.7) and abstract
				// UNIX sockets from ABI 6 (Linux 6.12).
				if need := map[bool]int{true: 6, false: 4}[c.l == abstract]; set == "landlock only" && sandbox.Probe().ABI < need {
					t.Skipf("Landlock ABI %d cannot restrict this (needs %d)", sandbox.Probe().ABI, need)
				}
				sandbox.SwitchOff(t, layerSets[set]...)
				r := run(t, sandbox.Command{Program: python, Args: []string{"-c", c.script}})
				if bytes.Contains(r.Stdout, []byte("connected")) || r.ExitCode == 0 {
					t.Errorf("connected: exit %d, stdout %q", r.ExitCode, r.Stdout)
				}
				c.l.sawNothing(t)
			})
		}
	}
}

// TestRun_kernelEscapes tries the kernel interfaces the seccomp filter
// refuses; each script prints the call's result, -1 when refused.
func TestRun_kernelEscapes(t *testing.T) {
	needSandbox(t)
	needPython(t)
	const prelude = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
	cases := []struct {
		name     string
		script   string
		stoppers []string
	}{
		// PTRACE_ATTACH to the test process itself, Warden's stand-in.
		{"ptrace Warden", "print(libc.ptrace(16, " + strconv.Itoa(os.Getpid()) + ", 0, 0))", []string{"all", "seccomp only", "landlock only", "namespaces only"}},
		{"new user namespace", "print(libc.unshare(0x10000000))", []string{"all", "seccomp only"}},
		{"mount", "print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))", []string{"all", "seccomp only", "namespaces only", "landlock only"}},
		{"io_uring", "print(libc.syscall(425, 8, ctypes.create_string_buffer(120)))", []string{"all", "seccomp only"}},
		{"bpf", "print(libc.syscall(321, 0, ctypes.create_string_buffer(128), 128))", []string{"all", "seccomp only"}},
	}
	for _, c := range cases {
		for _, set := range c.stoppers {
			t.Run(c.name+"/"+set, func(t *testing.T) {
				sandbox.SwitchOff(t, layerSets[set]...)
				r := run(t, sandbox.Command{Program: python, Args: []string{"-c", prelude + c.script}})
				if got := strings.TrimSpace(string(r.Stdout)); got != "-1" {
					t.Errorf("the call returned %q (stderr %q), want -1", got, r.Stderr)
				}
			})
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil && !bytes.Contains(b, []byte("TracerPid:\t0\n")) {
		t.Errorf("the test process is being traced:\n%s", b)
	}
}

// Start-up of a sandbox for /bin/true against a bare exec and bubblewrap
// (bench/README.md, "Sandbox start"):
//
//	go test -run '^$' -bench 'Start' ./internal/sandbox/
func BenchmarkStart(b *testing.B) {
	b.Run("sandbox", func(b *testing.B) {
		for b.Loop() {
			if _, err := sandbox.Run(context.Background(), sandbox.Command{Program: "/bin/true"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("launcher", func(b *testing.B) {
		// As a server runs them: from the launcher, a small process.
		l, err := sandbox.StartLauncher(sandbox.Envelope{Programs: []string{"/bin/true"}})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		for b.Loop() {
			if _, err := l.Run(context.Background(), sandbox.Command{Program: "/bin/true"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("/bin/true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bwrap", func(b *testing.B) {
		bwrap, err := exec.LookPath("bwrap")
		if err != nil {
			b.Skip("no bwrap")
		}
		for b.Loop() {
			// The closest bubblewrap sandbox: every namespace, the system
			// directories read-only, its own /proc, /dev and /tmp.
			cmd := exec.Command(bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
				"--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/bin/true")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
}

func TestProbeProcess(t *testing.T) {
	needSandbox(t)
	r := sandbox.ProbeProcess()
	if len(r.Missing) != 0 {
		t.Errorf("a host that runs sandboxes reports %s", r)
	}
}

// TestRun_hostSettings: /proc's kernel settings act on the whole host. A
// program opens them for writing and writes nothing (so that a failing
// guard changes nothing); the open must be refused.
func TestRun_hostSettings(t *testing.T) {
	needSandbox(t)
	const setting = "/proc/sys/kernel/printk_ratelimit"
	before, err := os.ReadFile(setting)
	if err != nil {
		t.Skipf("no %s: %v", setting, err)
	}
	for _, set := range []string{"all", "namespaces only", "landlock only"} {
		t.Run(set, func(t *testing.T) {
			sandbox.SwitchOff(t, layerSets[set]...)
			r := run(t, sandbox.Command{Program: sh, Args: []string{"-c", ": > " + setting + " && echo written; : > /proc/sysrq-trigger && echo sysrq"}})
			if bytes.Contains(r.Stdout, []byte("written")) || bytes.Contains(r.Stdout, []byte("sysrq")) {
				t.Errorf("a host setting was written from the sandbox: %s", r.Stdout)
			}
		})
	}
	if after, _ := os.ReadFile(setting); !bytes.Equal(before, after) {
		t.Errorf("%s changed from %q to %q", setting, before, after)
	}
}

// TestRun_cancelledBeforeStart: a caller that has given up gets an error,
// and nothing runs.
func TestRun_cancelledBeforeStart(t *testing.T) {
	needSandbox(t)
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := f.command("echo ran > ran.txt")
	if r, err := sandbox.Run(ctx, c); err == nil && r.KilledBy != sandbox.KilledByCanceled {
		t.Errorf("a cancelled run: %+v, %v; want an error or killed by canceled", r, err)
	}
	if _, err := os.Stat(filepath.Join(f.work, "ran.txt")); err == nil {
		t.Error("the program ran")
	}
}
