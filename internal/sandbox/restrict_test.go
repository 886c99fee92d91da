package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The test binary, re-executed with envChild set, runs [child]: it restricts
// itself (with envChild=refuse, tries to restrict to nothing; with
// envChild=control, does not try at all), tries each access in
// [probes] and prints one "name outcome" line per probe. The parent is
// never restricted: a Landlock domain cannot be left.
const (
	envChild   = "WARDEN_SANDBOX_CHILD" // "restrict", "refuse" or "control"
	envRoot    = "WARDEN_SANDBOX_ROOT"
	envState   = "WARDEN_SANDBOX_STATE"
	envSecret  = "WARDEN_SANDBOX_SECRET"
	envOutside = "WARDEN_SANDBOX_OUTSIDE"
)

const (
	rootContent   = "alpha\n"
	secretContent = "-----BEGIN OPENSSH PRIVATE KEY----- WARDEN-SANDBOX-SECRET\n"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// probe is one access the child tries once restricted.
type probe struct {
	name string
	try  func(f fixture) error
}

var probes = []probe{
	{"read-root", func(f fixture) error {
		b, err := os.ReadFile(filepath.Join(f.root, "a.txt"))
		if err == nil && string(b) != rootContent {
			return errors.New("wrong content")
		}
		return err
	}},
	{"list-root", func(f fixture) error { _, err := os.ReadDir(f.root); return err }},
	{"read-secret", func(f fixture) error { _, err := os.ReadFile(f.secret); return err }},
	{"list-outside", func(f fixture) error { _, err := os.ReadDir(f.outside); return err }},
	{"write-root", func(f fixture) error {
		return writeExisting(filepath.Join(f.root, "a.txt"), "overwritten\n")
	}},
	{"create-root", func(f fixture) error { return create(filepath.Join(f.root, "new.txt")) }},
	{"mkdir-root", func(f fixture) error { return os.Mkdir(filepath.Join(f.root, "newdir"), 0o755) }},
	{"rename-root", func(f fixture) error {
		return os.Rename(filepath.Join(f.root, "a.txt"), filepath.Join(f.root, "b.txt"))
	}},
	{"remove-root", func(f fixture) error { return os.Remove(filepath.Join(f.root, "c.txt")) }},
	{"create-outside", func(f fixture) error { return create(filepath.Join(f.outside, "created.txt")) }},
	{"write-secret", func(f fixture) error { return writeExisting(f.secret, "overwritten\n") }},
	{"write-state", func(f fixture) error {
		return os.WriteFile(filepath.Join(f.state, "written.txt"), []byte("state\n"), 0o600)
	}},
	// Moving and linking between directories need Landlock's "refer"
	// right: the journal and the move action depend on them.
	{"move-state", func(f fixture) error {
		for _, d := range []string{"a", "b"} {
			if err := os.Mkdir(filepath.Join(f.state, d), 0o700); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(f.state, "a", "f"), []byte("moved\n"), 0o600); err != nil {
			return err
		}
		return os.Rename(filepath.Join(f.state, "a", "f"), filepath.Join(f.state, "b", "f"))
	}},
	{"link-state", func(f fixture) error {
		return os.Link(filepath.Join(f.state, "b", "f"), filepath.Join(f.state, "a", "linked"))
	}},
	{"remove-state", func(f fixture) error { return os.Remove(filepath.Join(f.state, "a", "linked")) }},
	{"write-devnull", func(fixture) error { return writeExisting("/dev/null", "x") }},
	{"load-zone", func(fixture) error {
		if _, err := os.Stat("/usr/share/zoneinfo/Europe/Paris"); err != nil {
			return nil // no zone database here: nothing to prove
		}
		_, err := time.LoadLocation("Europe/Paris")
		return err
	}},
}

// wantRestricted is each probe's outcome under Landlock.
var wantRestricted = map[string]string{
	"read-root":      "ok",
	"list-root":      "ok",
	"read-secret":    "EACCES",
	"list-outside":   "EACCES",
	"write-root":     "EACCES",
	"create-root":    "EACCES",
	"mkdir-root":     "EACCES",
	"rename-root":    "EACCES",
	"remove-root":    "EACCES",
	"create-outside": "EACCES",
	"write-secret":   "EACCES",
	"write-state":    "ok",
	"move-state":     "ok",
	"link-state":     "ok",
	"remove-state":   "ok",
	"write-devnull":  "ok",
	"load-zone":      "ok",
	// A thread that existed before Restrict is restricted too.
	"read-secret-old-thread": "EACCES",
}

type fixture struct{ root, state, secret, outside string }

func writeExisting(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	return errors.Join(err, f.Close())
}

func create(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, syscall.EACCES):
		return "EACCES"
	}
	// The error names paths, never file content.
	return "error: " + strings.ReplaceAll(err.Error(), "\n", " ")
}

// child runs in the re-executed test binary. It never prints what it reads.
func child(mode string) int {
	f := fixture{os.Getenv(envRoot), os.Getenv(envState), os.Getenv(envSecret), os.Getenv(envOutside)}

	// A thread locked before Restrict, asked to read after it.
	ask, answer := make(chan struct{}), make(chan error)
	locked := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		close(locked)
		<-ask
		_, err := os.ReadFile(f.secret)
		answer <- err
	}()
	<-locked

	if mode == "refuse" {
		// Each would restrict the process to nothing; each must fail and
		// leave the process as it was.
		for name, paths := range map[string][]Path{
			"empty":       nil,
			"relative":    {{Path: "notes"}},
			"all-missing": {{Path: filepath.Join(f.outside, "missing")}},
		} {
			r, err := Restrict(paths)
			fmt.Println("refused-"+name, err != nil && !r.Enforced)
		}
	}
	if mode == "restrict" {
		paths := append([]Path{
			{Path: f.root, Access: Read, Why: "root"},
			{Path: f.state, Access: Write, Why: "state"},
		}, SystemPaths()...)
		r, err := Restrict(paths)
		if err != nil {
			fmt.Println("restrict error:", err)
			return 1
		}
		fmt.Println("report:", r.String())
	}
	for _, p := range probes {
		fmt.Println(p.name, outcome(p.try(f)))
	}
	close(ask)
	fmt.Println("read-secret-old-thread", outcome(<-answer))
	return 0
}

// runChild builds a fresh fixture, runs the child in mode and returns the
// fixture and the outcome of each probe.
func runChild(t *testing.T, mode string) (fixture, map[string]string, string) {
	t.Helper()
	home := t.TempDir() // stands in for the user's home, outside every path
	f := fixture{
		root:    filepath.Join(t.TempDir(), "notes"),
		state:   filepath.Join(t.TempDir(), "state"),
		secret:  filepath.Join(home, ".ssh", "id_rsa"),
		outside: filepath.Join(home, "elsewhere"),
	}
	for _, d := range []string{f.root, f.state, filepath.Dir(f.secret), f.outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(f.root, "a.txt"), rootContent)
	mustWrite(t, filepath.Join(f.root, "c.txt"), rootContent)
	mustWrite(t, f.secret, secretContent)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envRoot+"="+f.root, envState+"="+f.state,
		envSecret+"="+f.secret, envOutside+"="+f.outside)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child (%s): %v\nstdout:\n%s\nstderr:\n%s", mode, err, out, stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, result, _ := strings.Cut(sc.Text(), " ")
		got[name] = result
	}
	return f, got, string(out)
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func requireLandlock(t *testing.T) {
	t.Helper()
	if r := Probe(); !r.Supported {
		t.Skipf("LANDLOCK NOT TESTED: %s", r)
	}
}

// TestRestrict proves that Landlock alone, with no policy and no os.Root,
// stops a process from reading a private key outside its paths, from
// changing a read-only root, and from creating files elsewhere, while the
// state directory stays fully usable.
func TestRestrict(t *testing.T) {
	requireLandlock(t)
	f, got, out := runChild(t, "restrict")
	report := got["report:"]
	delete(got, "report:")
	if !strings.HasPrefix(report, "landlock: enforced (ABI ") {
		t.Errorf("child report = %q, want enforced", report)
	}
	if diff := cmp.Diff(wantRestricted, got); diff != "" {
		t.Errorf("probe outcomes under Landlock mismatch (-want +got):\n%s", diff)
	}
	if strings.Contains(out, "WARDEN-SANDBOX-SECRET") {
		t.Errorf("child printed the secret:\n%s", out)
	}
	// The effects, seen from the unrestricted parent.
	if got := mustRead(t, f.secret); got != secretContent {
		t.Errorf("secret = %q after the child ran, want it unchanged", got)
	}
	for _, name := range []string{"a.txt", "c.txt"} {
		if got := mustRead(t, filepath.Join(f.root, name)); got != rootContent {
			t.Errorf("root/%s = %q, want it unchanged", name, got)
		}
	}
	for _, p := range []string{
		filepath.Join(f.root, "new.txt"), filepath.Join(f.root, "newdir"),
		filepath.Join(f.root, "b.txt"), filepath.Join(f.outside, "created.txt"),
	} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Lstat(%s) = %v, want it not to exist", p, err)
		}
	}
	if got := mustRead(t, filepath.Join(f.state, "written.txt")); got != "state\n" {
		t.Errorf("state/written.txt = %q, want %q", got, "state\n")
	}
	if got := mustRead(t, filepath.Join(f.state, "b", "f")); got != "moved\n" {
		t.Errorf("state/b/f = %q, want %q", got, "moved\n")
	}
}

// TestRestrict_control runs the same probes without Restrict: every one
// succeeds, so the denials in TestRestrict come from Landlock and nothing
// else: the fixture's file modes allow every probe.
func TestRestrict_control(t *testing.T) {
	_, got, _ := runChild(t, "control")
	for name, result := range got {
		if result != "ok" {
			t.Errorf("without Landlock, probe %s = %q, want ok", name, result)
		}
	}
	if len(got) != len(wantRestricted) {
		t.Errorf("control ran %d probes, want %d", len(got), len(wantRestricted))
	}
}

// TestRestrict_refuses proves that Restrict given nothing to allow returns
// an error and leaves the process unrestricted: every probe succeeds.
func TestRestrict_refuses(t *testing.T) {
	_, got, _ := runChild(t, "refuse")
	for _, name := range []string{"refused-empty", "refused-relative", "refused-all-missing"} {
		if got[name] != "true" {
			t.Errorf("child %s = %q, want true (an error, nothing enforced)", name, got[name])
		}
		delete(got, name)
	}
	for name, result := range got {
		if result != "ok" {
			t.Errorf("after refused Restricts, probe %s = %q, want ok", name, result)
		}
	}
	if len(got) != len(wantRestricted) {
		t.Errorf("child ran %d probes, want %d", len(got), len(wantRestricted))
	}
}
