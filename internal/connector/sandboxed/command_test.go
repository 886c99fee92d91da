package sandboxed_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/sandboxed"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

// The kind is not in the build's registry yet (see Kind); its tests
// register it.

func needSandbox(t *testing.T) {
	t.Helper()
	if _, err := sandbox.Run(context.Background(), sandbox.Command{Program: "/bin/sh", Args: []string{"-c", "true"}}); err != nil {
		if os.Getenv("WARDEN_REQUIRE_SANDBOX") == "1" {
			t.Fatalf("no sandbox: %v", err)
		}
		t.Skipf("SKIPPED: no sandbox can be built here: %v", err)
	}
}

// open compiles src (with DIR standing for a fresh directory holding
// ./repo) and opens an engine on it.
func open(t *testing.T, src string) (*engine.Engine, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "repo"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return openEngine(t, path), filepath.Join(dir, "repo")
}

const buildPolicy = `version: 1
resources:
  build:
    kind: exec
    workdir: ./repo
    programs: [sh, cat]
    env: {GREETING: hello}
agents:
  dev:
    grants:
      - resource: build
        actions: [run]
        programs: [sh]
        env: [NAME]
        approval: none
        limits: {timeout: 5s, output_bytes: 1KiB}
`

func call(e *engine.Engine, args string) *engine.Outcome {
	return e.Call(context.Background(), core.Call{Agent: "dev", Tool: "build_run", Args: json.RawMessage(args)}, engine.CallOptions{})
}

func TestRun_throughThePipeline(t *testing.T) {
	needSandbox(t)
	e, repo := open(t, buildPolicy)
	o := call(e, `{"program": "sh", "args": ["-c", "echo $GREETING $NAME > out.txt; cat out.txt; exit 4"], "env": {"NAME": "dev"}}`)
	if o.Status != engine.StatusOK {
		t.Fatalf("status %v: %s", o.Status, o.Message)
	}
	var r sandboxed.Result
	if err := json.Unmarshal(o.Value, &r); err != nil {
		t.Fatal(err)
	}
	if r.Stdout != "hello dev\n" || r.ExitCode != 4 {
		t.Errorf("result %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(repo, "out.txt")); err != nil || string(b) != "hello dev\n" {
		t.Errorf("the work directory's file: %q, %v", b, err)
	}
}

func TestRun_refusals(t *testing.T) {
	e, repo := open(t, buildPolicy)
	for name, args := range map[string]string{
		"a program the grant does not name":     `{"program": "cat", "args": ["/etc/passwd"]}`,
		"a program the resource does not offer": `{"program": "rm", "args": ["-rf", "."]}`,
		"a variable the grant does not name":    `{"program": "sh", "args": ["-c", "true"], "env": {"LD_PRELOAD": "/tmp/x.so"}}`,
		"a variable the sandbox sets":           `{"program": "sh", "args": ["-c", "true"], "env": {"PATH": "/tmp"}}`,
		"a NUL in an argument":                  `{"program": "sh", "args": ["-c", "touch x\u0000y"]}`,
	} {
		o := call(e, args)
		if o.Status == engine.StatusOK {
			t.Errorf("%s: allowed: %s", name, o.Value)
		}
		t.Logf("%s: %s (%s)", name, o.Message, o.Reason)
	}
	if entries, _ := os.ReadDir(repo); len(entries) != 0 {
		t.Errorf("a refused call changed the work directory: %v", entries)
	}
}

func TestRun_limitsFromTheGrant(t *testing.T) {
	needSandbox(t)
	e, _ := open(t, buildPolicy)
	o := call(e, `{"program": "sh", "args": ["-c", "head -c 5000 /dev/zero | tr '\\0' x"]}`)
	var r sandboxed.Result
	if err := json.Unmarshal(o.Value, &r); err != nil {
		t.Fatalf("%v: %s", err, o.Message)
	}
	if len(r.Stdout) != 1024 || !r.Truncated {
		t.Errorf("stdout %d bytes, truncated %v: want the grant's 1 KiB", len(r.Stdout), r.Truncated)
	}
}

// TestRun_everyLimitOfTheGrant: each limit a grant may set lowers the
// resource's, the open files and /tmp's size too.
func TestRun_everyLimitOfTheGrant(t *testing.T) {
	needSandbox(t)
	e, _ := open(t, strings.Replace(buildPolicy, "limits: {timeout: 5s, output_bytes: 1KiB}", "limits: {open_files: 40, tmp_bytes: 2MiB}", 1))
	o := call(e, `{"program": "sh", "args": ["-c", "ulimit -n; head -c 3000000 /dev/zero > /tmp/big; echo rc=$?"]}`)
	var r sandboxed.Result
	if err := json.Unmarshal(o.Value, &r); err != nil {
		t.Fatalf("%v: %s", err, o.Message)
	}
	if r.Stdout != "40\nrc=1\n" {
		t.Errorf("stdout %q, stderr %q: want 40 open files and a /tmp too small for 3 MB", r.Stdout, r.Stderr)
	}
}

func TestPolicyProblems(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"no workdir":     {"build: {kind: exec, programs: [sh]}", "needs a workdir"},
		"no programs":    {"build: {kind: exec, workdir: ./repo}", "needs programs"},
		"unknown":        {"build: {kind: exec, workdir: ./repo, programs: [no-such-program-here]}", "not on PATH"},
		"root workdir":   {"build: {kind: exec, workdir: /, programs: [sh]}", "file system's root"},
		"secret in env":  {"build: {kind: exec, workdir: ./repo, programs: [sh], env: {TOKEN: env:HOME}}", "names a secret"},
		"PATH in env":    {"build: {kind: exec, workdir: ./repo, programs: [sh], env: {PATH: /x}}", "set by the sandbox"},
		"namespaces off": {"build: {kind: exec, workdir: ./repo, programs: [sh], sandbox: {allow_degraded: [namespaces]}}", "never optional"},
	} {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "repo"), 0o755)
		path := filepath.Join(dir, "warden.yaml")
		os.WriteFile(path, []byte("version: 1\nresources:\n  "+c.src+"\nagents:\n  dev:\n    grants:\n      - {resource: build, actions: [run]}\n"), 0o644)
		_, err := policy.Load(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}

// TestRun_outputRedacted: a secret of the policy that a program prints
// (here from a file in its work directory) reaches the agent redacted.
func TestRun_outputRedacted(t *testing.T) {
	needSandbox(t)
	const secret = "wk_live_93f8a7d6c5b4a3928170"
	t.Setenv("DEV_TOKEN", secret)
	e, repo := open(t, strings.Replace(buildPolicy, "  dev:\n", "  dev:\n    token: env:DEV_TOKEN\n", 1))
	if err := os.WriteFile(filepath.Join(repo, "leak.txt"), []byte("key="+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := call(e, `{"program": "sh", "args": ["-c", "cat leak.txt; cat leak.txt >&2"]}`)
	if o.Status != engine.StatusOK {
		t.Fatalf("status %v: %s", o.Status, o.Message)
	}
	if strings.Contains(string(o.Value), secret[:12]) {
		t.Errorf("the secret reached the agent: %s", o.Value)
	}
	if strings.Count(string(o.Value), "key=") != 2 {
		t.Errorf("the output is missing: %s", o.Value)
	}
}

// TestRun_when: a condition sees the program as path and its arguments as
// args.args.
func TestRun_when(t *testing.T) {
	needSandbox(t)
	e, _ := open(t, `version: 1
resources:
  build:
    kind: exec
    workdir: ./repo
    programs: [sh, cat, echo]
agents:
  dev:
    grants:
      - resource: build
        actions: [run]
        approval: none
        when: 'path == "echo" || (path == "sh" && args.args[0] == "-c" && args.args[1] == "true")'
`)
	for args, allowed := range map[string]bool{
		`{"program": "echo", "args": ["hi"]}`:           true,
		`{"program": "sh", "args": ["-c", "true"]}`:     true,
		`{"program": "sh", "args": ["-c", "rm -rf ."]}`: false,
		`{"program": "cat", "args": ["/etc/hostname"]}`: false,
		`{"program": "sh"}`:                             false, // args.args missing: the condition fails closed
	} {
		if o := call(e, args); (o.Status == engine.StatusOK) != allowed {
			t.Errorf("%s: status %v (%s), want allowed %v", args, o.Status, o.Message, allowed)
		}
	}
}

func TestDoctor(t *testing.T) {
	needSandbox(t)
	e, repo := open(t, buildPolicy)
	spec := e.Policy().Resource("build")
	cks := sandboxed.Kind.Doctor(context.Background(), core.DoctorInput{Specs: []*core.ResourceSpec{spec}})
	if len(cks) != 1 {
		t.Fatalf("%d checkups", len(cks))
	}
	var text []string
	for _, l := range cks[0].Lines {
		if l.Problem {
			t.Errorf("problem on a host that sandboxes: %s", l.Text)
		}
		text = append(text, l.Text)
	}
	all := strings.Join(text, "\n")
	if !strings.Contains(all, "every layer") || !strings.Contains(all, repo) || !strings.Contains(all, "sh (") {
		t.Errorf("doctor says:\n%s", all)
	}
}
