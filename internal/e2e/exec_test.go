package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/warden-dev/warden/internal/sandbox"
)

// execPolicy gives bot the exec resource build (a work directory, the
// shell, cat and python3) without approval; careful runs the same
// programs only once a human approves.
const execPolicy = `version: 1
resources:
  build:
    kind: exec
    workdir: ./repo
    programs: [sh, cat, python3]
    limits: {timeout: 20s}
agents:
  bot:
    grants:
      - {resource: build, actions: [run], approval: none}
  careful:
    grants:
      - {resource: build, actions: [run]}
`

// requireSandbox skips a test on a host that cannot build the exec kind's
// sandbox, saying why, unless CI requires it.
func requireSandbox(t *testing.T) {
	t.Helper()
	if missing := sandbox.ProbeProcess().Missing; len(missing) > 0 {
		if os.Getenv("WARDEN_REQUIRE_SANDBOX") == "1" {
			t.Fatalf("this host cannot build the sandbox, and WARDEN_REQUIRE_SANDBOX=1: %v", missing)
		}
		t.Skipf("SKIPPED LOUDLY: this host cannot build the sandbox: %v", missing)
	}
}

// countingListener accepts TCP connections on addr and counts them.
func countingListener(t *testing.T, network, addr string) (net.Listener, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln, &n
}

// TestExec_ThroughServe runs the exec kind's tool through warden serve
// over MCP, with Warden confined by Landlock: a run works in its work
// directory, and each escape an agent's program may try fails, with its
// effect checked: the file outside is unread and unchanged, the listener
// saw nothing.
func TestExec_ThroughServe(t *testing.T) {
	requireSandbox(t)
	base := t.TempDir()
	writeFiles(t, base, map[string]string{
		"secret.txt":    "WARDEN-E2E-OUTSIDE-SECRET",
		"repo/main.txt": "inside the work directory",
	})
	if err := os.Symlink("../secret.txt", filepath.Join(base, "repo", "link-out")); err != nil {
		t.Fatal(err)
	}
	policy := writePolicy(t, base, execPolicy)
	tcp4, seen4 := countingListener(t, "tcp", "127.0.0.1:0")
	tcp6, seen6 := countingListener(t, "tcp", "[::1]:0")
	abstract := fmt.Sprintf("@warden-e2e-%d", os.Getpid())
	_, seenUnix := countingListener(t, "unix", abstract)
	port4 := tcp4.Addr().(*net.TCPAddr).Port
	port6 := tcp6.Addr().(*net.TCPAddr).Port

	cs := connectStdio(t, base, nil, nil, "--agent", "bot")
	run := func(t *testing.T, program string, args ...string) map[string]any {
		t.Helper()
		res := callTool(t, cs, "build_run", map[string]any{"program": program, "args": args})
		if res.IsError {
			t.Fatalf("build_run %s %q: %s", program, args, text(res))
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(text(res)), &out); err != nil {
			t.Fatalf("build_run %s %q: %s: %v", program, args, text(res), err)
		}
		return out
	}

	t.Run("works in its directory", func(t *testing.T) {
		out := run(t, "sh", "-c", "cat main.txt; echo made > made.txt")
		if out["exit_code"] != float64(0) || out["stdout"] != "inside the work directory" {
			t.Fatalf("run: %v", out)
		}
		wantFile(t, filepath.Join(base, "repo", "made.txt"), "made\n", 0o644)
	})

	py := func(code string) []string { return []string{"-c", code} }
	stateDir := filepath.Join(base, ".warden")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"read /etc/shadow", py(`print(open("/etc/shadow").read())`)},
		{"read outside the work directory", py(`print(open(` + quotePy(filepath.Join(base, "secret.txt")) + `).read())`)},
		{"read the policy", py(`print(open(` + quotePy(policy) + `).read())`)},
		{"read the audit log", py(`print(open(` + quotePy(filepath.Join(stateDir, "audit.log")) + `).read())`)},
		{"follow a symlink out", py(`print(open("link-out").read())`)},
		{"through /proc/1/root", py(`print(open("/proc/1/root` + filepath.Join(base, "secret.txt") + `").read())`)},
		{"write outside the work directory", py(`open(` + quotePy(filepath.Join(base, "planted.txt")) + `, "w").write("x")`)},
		{"write the policy", py(`open(` + quotePy(policy) + `, "a").write("x")`)},
		{"connect to 127.0.0.1", py(fmt.Sprintf(`import socket; socket.create_connection(("127.0.0.1", %d), 2)`, port4))},
		{"connect to ::1", py(fmt.Sprintf(`import socket; socket.create_connection(("::1", %d), 2)`, port6))},
		{"connect to localhost by name", py(fmt.Sprintf(`import socket; socket.create_connection(("localhost", %d), 2)`, port4))},
		{"connect to an abstract socket", py(`import socket; s = socket.socket(socket.AF_UNIX); s.connect("\0` + abstract[1:] + `")`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, "python3", tc.args...)
			if out["exit_code"] == float64(0) {
				t.Fatalf("the escape succeeded: %v", out)
			}
			if got := fmt.Sprint(out["stdout"], out["stderr"]); strings.Contains(got, "WARDEN-E2E-OUTSIDE-SECRET") || strings.Contains(got, "root:") || strings.Contains(got, "agents:") {
				t.Fatalf("the output holds what the program must not read: %v", out)
			}
		})
	}
	t.Run("inherits no descriptor of Warden", func(t *testing.T) {
		out := run(t, "python3", py(`import os
for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
    try: print(fd, os.readlink("/proc/self/fd/%d" % fd))
    except OSError as e: print(fd, e)`)...)
		for _, line := range strings.Split(strings.TrimSpace(out["stdout"].(string)), "\n") {
			if strings.Contains(line, base) || strings.Contains(line, "socket:") && !strings.HasPrefix(line, "0 ") && !strings.HasPrefix(line, "1 ") && !strings.HasPrefix(line, "2 ") {
				t.Errorf("the program holds a descriptor it was not given: %s", line)
			}
		}
	})

	// The effects: nothing outside the work directory was written, the
	// policy is as written, and no listener saw a connection.
	if _, err := os.Stat(filepath.Join(base, "planted.txt")); !os.IsNotExist(err) {
		t.Errorf("a file was planted outside the work directory: %v", err)
	}
	if b, _ := os.ReadFile(policy); string(b) != execPolicy {
		t.Errorf("the policy changed: %q", b)
	}
	wantFile(t, filepath.Join(base, "secret.txt"), "WARDEN-E2E-OUTSIDE-SECRET", 0o644)
	if n := seen4.Load() + seen6.Load() + seenUnix.Load(); n != 0 {
		t.Errorf("loopback listeners saw %d connections from the sandbox", n)
	}
}

// TestExec_ApprovalPending: a run that waits for a human is pending, the
// approver sees its whole command line, and nothing ran: the file it would
// remove is there and the one it would write is not.
func TestExec_ApprovalPending(t *testing.T) {
	requireSandbox(t)
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"repo/keep.txt": "kept"})
	writePolicy(t, base, execPolicy)
	o, code := callAs(t, base, "careful", "build_run", map[string]any{"program": "sh", "args": []string{"-c", "rm keep.txt; echo ran > ran.txt"}})
	if code != 4 || o.Decision != "approval_required" {
		t.Fatalf("warden call: exit %d, %+v; want exit 4, approval_required", code, o)
	}
	id := regexp.MustCompile(`ap_[a-z0-9]+`).FindString(o.Message)
	shown, code := runWarden(t, base, nil, "approvals", "show", id)
	if code != 0 || !strings.Contains(shown, "rm keep.txt; echo ran > ran.txt") {
		t.Fatalf("warden approvals show %s: exit %d:\n%s\nwant the whole command line", id, code, shown)
	}
	wantFile(t, filepath.Join(base, "repo", "keep.txt"), "kept", 0o644)
	if _, err := os.Stat(filepath.Join(base, "repo", "ran.txt")); !os.IsNotExist(err) {
		t.Fatalf("the command ran before approval: %v", err)
	}
}

// quotePy quotes s as a Python string literal.
func quotePy(s string) string { return fmt.Sprintf("%q", s) }
