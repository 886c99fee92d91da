//go:build linux

package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/sandbox"
)

func startLauncher(t *testing.T, env sandbox.Envelope) *sandbox.Launcher {
	t.Helper()
	l, err := sandbox.StartLauncher(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLauncher_runs(t *testing.T) {
	needSandbox(t)
	f := newFixture(t)
	l := startLauncher(t, sandbox.Envelope{Programs: []string{sh}, Paths: []sandbox.Path{{Path: f.work, Access: sandbox.Write}, {Path: f.readonly}}})
	r, err := l.Run(context.Background(), f.command("cat "+f.readonly+"/guide.txt; echo made > made.txt; cat "+f.secret))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout) != "read me" {
		t.Errorf("stdout %q, want the read-only grant's text", r.Stdout)
	}
	if b, err := os.ReadFile(f.work + "/made.txt"); err != nil || string(b) != "made\n" {
		t.Errorf("the work directory's file: %q, %v", b, err)
	}
	f.unchanged(t, r)
}

// TestLauncher_envelope: what the policy never named is refused by the
// launcher itself, before any sandbox is built.
func TestLauncher_envelope(t *testing.T) {
	needSandbox(t)
	f := newFixture(t)
	l := startLauncher(t, sandbox.Envelope{Programs: []string{sh}, Paths: []sandbox.Path{{Path: f.work, Access: sandbox.Write}, {Path: f.readonly}}})
	if err := os.Symlink(f.outside, f.work+"/out"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]sandbox.Command{
		"another program":           {Program: "/bin/cat", Args: []string{f.secret}},
		"a path outside":            {Program: sh, Args: []string{"-c", "cat " + f.secret}, Paths: []sandbox.Path{{Path: f.outside}}},
		"a read-only path writable": {Program: sh, Args: []string{"-c", "echo x > " + f.readonly + "/new"}, Paths: []sandbox.Path{{Path: f.readonly, Access: sandbox.Write}}},
		"a link out of the work":    {Program: sh, Args: []string{"-c", "cat " + f.work + "/out/secret.txt"}, Paths: []sandbox.Path{{Path: f.work + "/out"}}},
	} {
		r, err := l.Run(context.Background(), c)
		var ce *sandbox.CommandError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a CommandError", name, err)
		}
		f.unchanged(t, r)
	}
}

func TestLauncher_cancel(t *testing.T) {
	needSandbox(t)
	l := startLauncher(t, sandbox.Envelope{Programs: []string{sh}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := l.Run(ctx, sandbox.Command{Program: sh, Args: []string{"-c", "sleep 30"}})
	if err != nil || r.KilledBy != sandbox.KilledByCanceled || time.Since(start) > 10*time.Second {
		t.Errorf("killed by %q, err %v, after %v; want canceled promptly", r.KilledBy, err, time.Since(start))
	}
}

func TestLauncher_concurrent(t *testing.T) {
	needSandbox(t)
	l := startLauncher(t, sandbox.Envelope{Programs: []string{sh}})
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			want := strings.Repeat("x", i+1)
			r, err := l.Run(context.Background(), sandbox.Command{Program: sh, Args: []string{"-c", "printf " + want}})
			if err == nil && string(r.Stdout) != want {
				err = errors.New("got " + string(r.Stdout) + ", want " + want)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestLauncher_fromConfinedProcess: a process confined by Landlock cannot
// build a sandbox itself; the launcher it started before can.
func TestLauncher_fromConfinedProcess(t *testing.T) {
	needSandbox(t)
	if sandbox.Probe().ABI < 1 {
		t.Skip("no Landlock")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLauncherConfinedChild$", "-test.v")
	cmd.Env = append(os.Environ(), "WARDEN_TEST_CONFINED_CHILD="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{"direct: refused", "launcher: hello"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
}

// TestLauncherConfinedChild is the confined process of the test above.
func TestLauncherConfinedChild(t *testing.T) {
	dir := os.Getenv("WARDEN_TEST_CONFINED_CHILD")
	if dir == "" {
		t.Skip("run by TestLauncher_fromConfinedProcess")
	}
	l, err := sandbox.StartLauncher(sandbox.Envelope{Programs: []string{sh}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := sandbox.Restrict(append(sandbox.SystemPaths(), sandbox.Path{Path: dir, Access: sandbox.Write})); err != nil {
		t.Fatal(err)
	}
	c := sandbox.Command{Program: sh, Args: []string{"-c", "echo hello"}}
	if _, err := sandbox.Run(context.Background(), c); err != nil {
		fmt.Println("direct: refused:", err)
	}
	r, err := l.Run(context.Background(), c)
	fmt.Printf("launcher: %s (err %v)\n", strings.TrimSpace(string(r.Stdout)), err)
}
