package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/sys/unix"
)

// runPython is the system's Python: warden run shows programs of the
// system directories, not of a user's PATH (pyenv shims).
const runPython = "/usr/bin/python3"

// runFixture is a policy for warden run: agent bot reads notes, writes
// work, and (with an api) GETs /v1/items/** of it; the state directory,
// the policy and a secret lie outside every grant.
type runFixture struct {
	base, notes, work, policy, state, outside string
}

func newRunFixture(t *testing.T, extraResources, extraGrants string) runFixture {
	t.Helper()
	requireSandbox(t)
	if _, err := os.Stat(runPython); err != nil {
		t.Skipf("SKIPPED: no %s: %v", runPython, err)
	}
	base := t.TempDir()
	f := runFixture{base: base, notes: filepath.Join(base, "notes"), work: filepath.Join(base, "work"),
		policy: filepath.Join(base, "policy.yaml"), state: filepath.Join(base, "state"), outside: filepath.Join(base, "outside.txt")}
	writeFiles(t, base, map[string]string{
		"notes/granted.txt": "WARDEN-RUN-GRANTED",
		"work/keep.txt":     "WARDEN-RUN-WORK",
		"outside.txt":       "WARDEN-RUN-OUTSIDE",
	})
	if err := os.Symlink(f.outside, filepath.Join(f.work, "link-out")); err != nil {
		t.Fatal(err)
	}
	pol := fmt.Sprintf(`version: 1
settings: {state_dir: ./state}
resources:
  notes: {kind: fs, root: ./notes}
  work: {kind: fs, root: ./work}
%sagents:
  bot:
    grants:
      - {resource: notes, actions: [read, list]}
      - {resource: work, actions: [read, write]}
%s`, extraResources, extraGrants)
	if err := os.WriteFile(f.policy, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs warden run in the work directory and returns its stdout, its
// stderr and its exit code.
func (f runFixture) run(t *testing.T, files []*os.File, args ...string) (string, string, int) {
	t.Helper()
	cmd := warden(t, f.work, nil, append([]string{"run", "--policy", f.policy, "--agent", "bot"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.ExtraFiles = files
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// unchanged fails the test when a file's content is not want.
func unchanged(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || string(b) != want {
		t.Errorf("%s: %q, %v; want it unchanged (%q)", path, b, err, want)
	}
}

// TestRun_escapeCorpus runs each escape an agent may try through warden
// run and checks its effect: nothing outside the grants is read or
// changed, and no listener of the host sees a connection.
func TestRun_escapeCorpus(t *testing.T) {
	f := newRunFixture(t, "", "")
	tcp4, hits4 := countingListener(t, "tcp4", "127.0.0.1:0")
	port4 := tcp4.Addr().(*net.TCPAddr).Port
	var hits6 *atomic.Int64
	port6 := 0
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		var tcp6 net.Listener
		tcp6, hits6 = countingListener(t, "tcp6", "[::1]:0")
		port6 = tcp6.Addr().(*net.TCPAddr).Port
	}
	abstract := fmt.Sprintf("@warden-e2e-run-%d", os.Getpid())
	unixLn, unixHits := countingListener(t, "unix", abstract)
	_ = unixLn
	// Warden's own open file, inherited from its parent as fds 3 to 7.
	inherited, err := os.Open(f.outside)
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Close()
	fds := []*os.File{inherited, inherited, inherited, inherited, inherited}

	stateFile := filepath.Join(f.state, "audit.log")
	cases := []struct{ name, script string }{
		{"shadow", `print(open("/etc/shadow").read())`},
		{"outside", `print(open(%q).read())`},
		{"state dir", `import os; print(os.listdir(%q)); print(open(%q).read())`},
		{"policy", `print(open(%q).read())`},
		{"write read-only grant", `open(%q, "w").write("x"); print("WROTE")`},
		{"write outside", `open(%q, "a").write("x")`}, // a path under the private /tmp: checked by its effect
		{"symlink out", `print(open("link-out").read())`},
		{"symlink made inside", `import os; os.symlink(%q, "made-link"); print(open("made-link").read())`},
		{"proc 1 root", `print(open("/proc/1/root" + %q).read())`},
		{"proc self root", `print(open("/proc/self/root" + %q).read())`},
		{"proc self fd", `import os
for fd in os.listdir("/proc/self/fd"):
    if fd in ("0", "1", "2"): continue  # stdio: pipes of the test
    try:
        print(os.readlink("/proc/self/fd/" + fd), open("/proc/self/fd/" + fd).read(100))
    except OSError: pass`},
		{"inherited fd", `import os
for fd in range(3, 64):
    try:
        os.lseek(fd, 0, 0); print(os.read(fd, 100))
    except OSError: pass`},
		{"ptrace", `import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    time.sleep(5); os._exit(0)
if libc.ptrace(16, pid, 0, 0) == 0: print("ESCAPED ptrace attach")
os.kill(pid, 9)`},
		{"unshare mount", `import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000 | 0x00020000) == 0: print("ESCAPED unshare")
if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) == 0: print("ESCAPED mount")`},
		{"memory balloon", `b = bytearray(3 << 30); print("ESCAPED allocated 3GiB")`},
		{"disk fill", `n = 0
try:
    with open("/tmp/fill", "wb") as f:
        while n < (512 << 20):
            f.write(b"\0" * (1 << 20)); n += 1 << 20
except OSError: pass
if n >= (512 << 20): print("ESCAPED wrote", n)`},
		{"tcp 127.0.0.1", `import socket; socket.create_connection(("127.0.0.1", %d), timeout=3); print("ESCAPED connected")`},
		{"localhost by name", `import socket; socket.create_connection(("localhost", %d), timeout=3); print("ESCAPED connected")`},
		{"dns name", `import socket; print(socket.getaddrinfo("example.com", 80)); socket.create_connection(("example.com", 80), timeout=3); print("ESCAPED connected")`},
		{"ipv6 loopback", `import socket; socket.create_connection(("::1", %d), timeout=3); print("ESCAPED connected")`},
		{"abstract unix", `import socket; s = socket.socket(socket.AF_UNIX); s.connect(%q); print("ESCAPED connected")`},
	}
	args := map[string][]any{
		"outside":               {f.outside},
		"state dir":             {f.state, stateFile},
		"policy":                {f.policy},
		"write read-only grant": {filepath.Join(f.notes, "new.txt")},
		"write outside":         {f.outside},
		"symlink made inside":   {f.outside},
		"proc 1 root":           {f.outside},
		"proc self root":        {f.outside},
		"tcp 127.0.0.1":         {port4},
		"localhost by name":     {port4},
		"ipv6 loopback":         {port6},
		"abstract unix":         {"\x00" + abstract[1:]},
	}
	secrets := []string{"WARDEN-RUN-OUTSIDE", "root:", "version: 1", "ESCAPED", "WROTE"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := c.script
			if a, ok := args[c.name]; ok {
				script = fmt.Sprintf(script, a...)
			}
			out, errOut, code := f.run(t, fds, "--memory", "512MiB", "--timeout", "30s", "--", runPython, "-c", script)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("escape worked: stdout holds %q\nstdout: %s\nstderr: %s", s, out, errOut)
				}
			}
			if !strings.Contains(errOut, "layers:  namespaces, landlock, seccomp, limits") {
				t.Errorf("the start screen does not list every layer:\n%s", errOut)
			}
			t.Logf("exit %d; stderr tail: %s", code, tail(errOut, 300))
		})
	}
	unchanged(t, f.outside, "WARDEN-RUN-OUTSIDE")
	if _, err := os.Stat(filepath.Join(f.notes, "new.txt")); err == nil {
		t.Error("a file was created in the read-only grant")
	}
	if n := hits4.Load(); n != 0 {
		t.Errorf("the 127.0.0.1 listener saw %d connections", n)
	}
	if hits6 != nil && hits6.Load() != 0 {
		t.Errorf("the ::1 listener saw %d connections", hits6.Load())
	}
	if n := unixHits.Load(); n != 0 {
		t.Errorf("the abstract unix socket saw %d connections", n)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestRun_forkBomb: a fork bomb ends at the process limit or the timeout,
// and leaves no process behind.
func TestRun_forkBomb(t *testing.T) {
	f := newRunFixture(t, "", "")
	marker := fmt.Sprintf("warden-forkbomb-%d", time.Now().UnixNano())
	_, errOut, code := f.run(t, nil, "--processes", "64", "--timeout", "5s", "--", runPython, "-c", "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", marker)
	if code == 0 {
		t.Errorf("the fork bomb ended with 0:\n%s", errOut)
	}
	waitNoProcess(t, marker)
}

// TestRun_writesWhereGranted: the program writes in its writable grant,
// in the current directory, and its exit code is warden's.
func TestRun_writesWhereGranted(t *testing.T) {
	f := newRunFixture(t, "", "")
	out, errOut, code := f.run(t, nil, "--", "sh", "-c", "cat keep.txt; echo made > made.txt; pwd; exit 7")
	if code != 7 || !strings.Contains(out, "WARDEN-RUN-WORK") || !strings.Contains(out, f.work) {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	unchanged(t, filepath.Join(f.work, "made.txt"), "made\n")
	for _, want := range []string{"read:    " + f.notes + " (notes), " + f.work + " (work)", "write:   " + f.work + " (work)", "network: none", "dir:     " + f.work} {
		if !strings.Contains(errOut, want) {
			t.Errorf("start screen lacks %q:\n%s", want, errOut)
		}
	}
}

// TestRun_refusesVisibleState: a grant whose root holds Warden's state
// directory or the policy is refused before anything runs.
func TestRun_refusesVisibleState(t *testing.T) {
	requireSandbox(t)
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"a.txt": "a"})
	pol := filepath.Join(base, "warden.yaml")
	os.WriteFile(pol, []byte("version: 1\nresources:\n  here: {kind: fs, root: .}\nagents:\n  bot:\n    grants: [{resource: here, actions: [read]}]\n"), 0o600)
	cmd := warden(t, base, nil, "run", "--policy", pol, "--", "sh", "-c", "echo RAN")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 5 || strings.Contains(string(out), "RAN") || !strings.Contains(string(out), "state directory") {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}

// TestRun_pythonAgent runs an agent-like Python program: its open() reads
// the granted file and not another, its urllib reaches the granted API
// through the egress proxy and not another host; the audit log shows the
// run and each network call.
func TestRun_pythonAgent(t *testing.T) {
	var apiSeen, otherSeen atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiSeen.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))
	defer api.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherSeen.Add(1) }))
	defer other.Close()
	_, apiPort, _ := net.SplitHostPort(api.Listener.Addr().String())
	f := newRunFixture(t, fmt.Sprintf("  api:\n    kind: http\n    base_url: http://127.0.0.1:%s/v1/\n    allow_private: [127.0.0.1/32]\n", apiPort),
		"      - {resource: api, actions: [GET], paths: [\"/v1/items/**\"]}\n")
	script, err := filepath.Abs("testdata/run_agent.py")
	if err != nil {
		t.Fatal(err)
	}
	// The script is granted with the notes.
	if b, err := os.ReadFile(script); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(filepath.Join(f.notes, "agent.py"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := f.run(t, nil, "--", runPython, filepath.Join(f.notes, "agent.py"),
		filepath.Join(f.notes, "granted.txt"), f.outside, api.URL+"/v1/items/42", other.URL+"/anything")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{"read-granted OK WARDEN-RUN-GRANTED", "read-forbidden REFUSED", "api-granted OK /v1/items/42", "api-forbidden REFUSED"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s\nstderr: %s", want, out, errOut)
		}
	}
	if !strings.Contains(errOut, "network: only Warden's egress proxy") || !strings.Contains(errOut, "api: GET http://127.0.0.1:"+apiPort+"/v1/") {
		t.Errorf("start screen does not show the network:\n%s", errOut)
	}
	if n := apiSeen.Load(); n != 1 {
		t.Errorf("the granted API saw %d requests, want 1", n)
	}
	if n := otherSeen.Load(); n != 0 {
		t.Errorf("the forbidden host saw %d requests", n)
	}
	log, err := warden(t, f.base, nil, "audit", "show", "--json", "--policy", f.policy).Output()
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	sc := bufio.NewScanner(bytes.NewReader(log))
	for sc.Scan() {
		var rec struct{ Event, Tool, Decision, Path string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			events = append(events, rec.Event+":"+rec.Decision+":"+rec.Path)
		}
	}
	joined := strings.Join(events, "\n")
	if !strings.HasPrefix(joined, "run_start:allow:") || !strings.Contains(joined, "run_end::") {
		t.Errorf("the run is not audited:\n%s", joined)
	}
	if !strings.Contains(joined, "call:allow:") || !strings.Contains(joined, ":deny:") {
		t.Errorf("the network calls are not audited (want an allowed call and a denial):\n%s", joined)
	}
}

// TestRun_crash kills warden with SIGKILL while a sandboxed program and
// its child run: none of them survives, and no mount is left behind.
func TestRun_crash(t *testing.T) {
	f := newRunFixture(t, "", "")
	before := mounts(t)
	marker := fmt.Sprintf("warden-crash-%d", time.Now().UnixNano())
	cmd := warden(t, f.work, nil, "run", "--policy", f.policy, "--agent", "bot", "--", runPython, "-c", "import os, time\nos.fork()\ntime.sleep(300)", marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	// warden itself, the program and its child.
	for len(processesWith(marker)) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the sandboxed program and its child did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	waitNoProcess(t, marker)
	if after := mounts(t); after != before {
		t.Errorf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestRun_signal: SIGTERM to warden run reaches the program, whose exit
// code is warden's.
func TestRun_signal(t *testing.T) {
	f := newRunFixture(t, "", "")
	cmd := warden(t, f.work, nil, "run", "--policy", f.policy, "--agent", "bot", "--", runPython, "-c",
		"import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(9))\nprint('ready', flush=True)\ntime.sleep(300)")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 9 {
		t.Fatalf("warden ended with %v, want exit 9 from the program", err)
	}
}

// processesWith lists the pids whose command line holds marker.
func processesWith(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitNoProcess waits until no process holds marker, and fails the test
// (killing them) if some still do after a while.
func waitNoProcess(t *testing.T, marker string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(processesWith(marker)) > 0 {
		if ctx.Err() != nil {
			pids := processesWith(marker)
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
			t.Fatalf("processes of the sandbox survived: %v", pids)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mounts is the host's mount table, mount ids and all.
func mounts(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExec_crash kills warden serve with SIGKILL while the exec kind's
// tool runs a program through the launcher: the program does not
// survive, and no mount is left behind.
func TestExec_crash(t *testing.T) {
	requireSandbox(t)
	if _, err := os.Stat(runPython); err != nil {
		t.Skipf("SKIPPED: no %s: %v", runPython, err)
	}
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"repo/main.txt": "x"})
	writePolicy(t, base, `version: 1
resources:
  build:
    kind: exec
    workdir: ./repo
    programs: [`+runPython+`]
    limits: {timeout: 1h, cpu: 1h}
agents:
  bot:
    grants:
      - {resource: build, actions: [run], approval: none}
`)
	before := mounts(t)
	marker := fmt.Sprintf("warden-exec-crash-%d", time.Now().UnixNano())
	cmd := warden(t, base, nil, "serve", "--agent", "bot")
	cmd.Stderr = &testWriter{t: t, prefix: "warden: "}
	cs := connectCmd(t, cmd, nil)
	ended := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "build_run", Arguments: map[string]any{"program": filepath.Base(runPython), "args": []string{"-c", "import os, time\nos.fork()\ntime.sleep(3000)", marker}}})
		if err != nil {
			ended <- err.Error()
		} else {
			ended <- text(res)
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for len(processesWith(marker)) < 2 {
		select {
		case out := <-ended:
			t.Fatalf("the call ended before warden was killed: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandboxed program and its child did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	waitNoProcess(t, marker)
	if after := mounts(t); after != before {
		t.Errorf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestRun_terminal: with a terminal as stdin, the program reads it (the
// sandbox's process group is the terminal's foreground while it runs).
func TestRun_terminal(t *testing.T) {
	f := newRunFixture(t, "", "")
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("SKIPPED: no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	cmd := warden(t, f.work, nil, "run", "--policy", f.policy, "--agent", "bot", "--timeout", "60s", "--", runPython, "-c", "print('got', input())")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&out, ptmx); close(read) }()
	time.Sleep(time.Second) // let the program wait for its input; a late line is fine too
	ptmx.Write([]byte("typed-line\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("warden run: %v\n%s", err, out.String())
	}
	tty.Close()
	ptmx.SetReadDeadline(time.Now().Add(5 * time.Second))
	<-read
	if !strings.Contains(out.String(), "got typed-line") {
		t.Fatalf("the program did not read the terminal:\n%s", out.String())
	}
}

// TestRun_showsOnlyGrantedPaths: a grant with paths shows the directories
// its patterns start with, not the whole root, and one that reads there
// cannot write.
func TestRun_showsOnlyGrantedPaths(t *testing.T) {
	f := newRunFixture(t, "", "")
	writeFiles(t, f.base, map[string]string{"notes/docs/a.txt": "WARDEN-RUN-DOCS", "notes/private/p.txt": "WARDEN-RUN-PRIVATE"})
	pol := strings.Replace(mustRead(t, f.policy), "{resource: notes, actions: [read, list]}", `{resource: notes, actions: [read, list], paths: ["docs/**"]}`, 1)
	if err := os.WriteFile(f.policy, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("cat %[1]s/docs/a.txt; cat %[1]s/private/p.txt; cat %[1]s/granted.txt; echo x > %[1]s/docs/new.txt", f.notes)
	out, errOut, _ := f.run(t, nil, "--", "sh", "-c", script)
	if !strings.Contains(out, "WARDEN-RUN-DOCS") || strings.Contains(out, "WARDEN-RUN-PRIVATE") || strings.Contains(out, "WARDEN-RUN-GRANTED") {
		t.Errorf("stdout %q; want only the docs file; stderr:\n%s", out, errOut)
	}
	if _, err := os.Stat(filepath.Join(f.notes, "docs", "new.txt")); err == nil {
		t.Error("the agent wrote under a read-only grant")
	}
	if !strings.Contains(errOut, "read:    "+filepath.Join(f.notes, "docs")+" (notes)") {
		t.Errorf("the start screen does not show notes/docs alone:\n%s", errOut)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
