package fs_test

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/corpus"
)

// FuzzResolve feeds arbitrary path arguments to read against a fixed tree
// with links that lead out, back in, in circles and to the root's parent.
// Whenever Prepare succeeds, inv.Path must be a clean local path with no
// ".." component, and a successful read must return exactly what the
// resolved path holds inside the root; no read may ever return content
// from outside the root.
func FuzzResolve(f *testing.F) {
	tmp, root := newFixture(f,
		"notes.txt", "target", "sub/inner.txt", "private/secret.txt = WARDEN-PRIVATE",
		"link => ../sentinel.txt",
		"up => ..",
		"d/d => ..",
		"dl => sub",
		"here => .",
		"loop => loop",
		"a => b/c", "b/c/target",
		"chain => a/../target",
		"back => ../root/target",
		"back\\slash.txt",
	)
	mustBuild(f, root, "abs => "+filepath.Join(tmp, "sentinel.txt"), "outdir => "+tmp)
	mustBuild(f, tmp, "other/secret.txt = WARDEN-OUTSIDE-OTHER")
	c := newConnector(f, root)
	rootFS, err := os.OpenRoot(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rootFS.Close() })

	for _, seed := range []string{
		"notes.txt", ".", "./", "sub//inner.txt", "a/../target", "d/d/d/d/notes.txt", "dl/inner.txt",
		"link", "abs", "up/sentinel.txt", "outdir/sentinel.txt", "here/../sentinel.txt", "loop",
		"../sentinel.txt", "..\\sentinel.txt", "back", "chain", "nul", "com¹ : a", "C:\\x",
		"%2e%2e%2fsentinel.txt", "private/secret.txt", "sub/../../root/notes.txt", "a/b/../../x",
		"notes.txt/", "dl/", "b/c/../../a/target", "\x00", strings.Repeat("d/", 100) + "notes.txt",
	} {
		f.Add(seed)
	}
	if cases := loadCorpusForFuzz(); cases != nil {
		for _, p := range cases {
			f.Add(strings.NewReplacer("{ROOT}", root, "{ROOTNAME}", "root", "{SENTINEL}", filepath.Join(tmp, "sentinel.txt"), "{OUTDIR}", tmp).Replace(p))
		}
	}

	f.Fuzz(func(t *testing.T, p string) {
		fuzzWrite(t, c, rootFS, tmp, p)
		inv := &core.Invocation{Op: "read", Args: pathArgs(t, p)}
		err := c.Prepare(context.Background(), inv)
		defer func() {
			if cl, ok := inv.State.(interface{ Close() error }); ok {
				cl.Close()
			}
		}()
		if err != nil {
			if core.KindOf(err) == core.KindOther || core.KindOf(err) == core.KindInternal {
				t.Errorf("Prepare(read %q) error of kind %v: %v", p, core.KindOf(err), err)
			}
			return
		}
		got := inv.Path
		if got != "." && (!filepath.IsLocal(got) || path.Clean(got) != got || strings.HasPrefix(got, "/")) {
			t.Fatalf("Prepare(read %q): inv.Path %q is not a clean local path", p, got)
		}
		for _, part := range strings.Split(got, "/") {
			if part == ".." {
				t.Fatalf("Prepare(read %q): inv.Path %q has a .. component", p, got)
			}
		}
		res, err := c.Execute(context.Background(), inv, allVisible)
		if err != nil {
			if msg := core.MessageOf(err); strings.Contains(msg, tmp) && !strings.Contains(p, tmp) {
				t.Errorf("read(%q) error message %q names a host path", p, msg)
			}
			return
		}
		content := readValueContent(t, res)
		if strings.Contains(content, "WARDEN-SENTINEL") || strings.Contains(content, "WARDEN-OUTSIDE") {
			t.Fatalf("read(%q) returned outside content %q", p, content)
		}
		want, err := rootFS.ReadFile(got)
		if err != nil || string(want) != content {
			t.Fatalf("read(%q) = %q at %q, but the root holds %q there (%v)", p, content, got, want, err)
		}
	})
}

// fuzzWrite resolves p for a write: inv.Path must be a clean local path.
// Inside the test sandbox (connectortest.Sandboxed) it also creates the
// file, which must then exist at inv.Path inside the root with the
// content written, and nothing outside may change; it is removed again.
func fuzzWrite(t *testing.T, c *fs.Connector, rootFS *os.Root, tmp, p string) {
	inv := &core.Invocation{Op: "write", Args: args(t, map[string]any{"path": p, "content": "WARDEN-FUZZ"})}
	err := c.Prepare(context.Background(), inv)
	defer func() {
		if cl, ok := inv.State.(interface{ Close() error }); ok {
			cl.Close()
		}
	}()
	if err != nil {
		if k := core.KindOf(err); k == core.KindOther || k == core.KindInternal {
			t.Errorf("Prepare(write %q) error of kind %v: %v", p, k, err)
		}
		return
	}
	got := inv.Path
	if got != "." && (!filepath.IsLocal(got) || path.Clean(got) != got) {
		t.Fatalf("Prepare(write %q): inv.Path %q is not a clean local path", p, got)
	}
	if os.Getenv(connectortest.SandboxEnv) == "" {
		return
	}
	if _, err := c.Execute(context.Background(), inv, allVisible); err != nil {
		return
	}
	b, err := rootFS.ReadFile(got)
	if err != nil || string(b) != "WARDEN-FUZZ" {
		t.Fatalf("write(%q) succeeded, but %q in the root holds %q (%v)", p, got, b, err)
	}
	rootFS.Remove(got)
	if s, _ := os.ReadFile(filepath.Join(tmp, "sentinel.txt")); string(s) != sentinel {
		t.Fatalf("write(%q) changed the sentinel", p)
	}
}

// readValueContent extracts the text content of a read result.
func readValueContent(tb testing.TB, res *core.Result) string {
	tb.Helper()
	b, err := res.JSON()
	if err != nil {
		tb.Fatal(err)
	}
	return readContent(tb, outcome{JSON: string(b)})
}

// loadCorpusForFuzz returns the corpus payloads, or nil when the corpus is
// not available.
func loadCorpusForFuzz() []string {
	dir := corpus.Dir()
	if dir == "" {
		return nil
	}
	cases, err := corpus.Parse(filepath.Join(dir, "paths.txt"))
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cases {
		if c.Scenario() == "" {
			out = append(out, c.Payload)
		}
	}
	return out
}
