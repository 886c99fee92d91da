package fs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// Markers. Content outside the root carries a WARDEN- marker that must
// never appear in any result.
const (
	inside   = "WARDEN-INSIDE"
	sentinel = "WARDEN-SENTINEL-OUTSIDE"
)

// allVisible is the scope of an agent that may see everything it reaches.
var allVisible = core.ScopeFunc(func(string) bool { return true })

// policy mimics the lead's pipeline for tests: everything is allowed
// except the private/ sub-tree. Listing and search use it as the scope.
var policy = core.ScopeFunc(func(p string) bool { return p != "private" && !strings.HasPrefix(p, "private/") })

// mustBuild creates entries under dir. Each spec is one of
//
//	"a/b/"          a directory (with parents)
//	"a/f"           a file containing "WARDEN-INSIDE"
//	"a/f = text"    a file with the given content
//	"a/l => target" a symbolic link
func mustBuild(tb testing.TB, dir string, specs ...string) {
	tb.Helper()
	for _, s := range specs {
		switch {
		case strings.Contains(s, " => "):
			name, dest, _ := strings.Cut(s, " => ")
			mustMkdir(tb, filepath.Dir(filepath.Join(dir, name)))
			if err := os.Symlink(dest, filepath.Join(dir, name)); err != nil {
				tb.Fatal(err)
			}
		case strings.HasSuffix(s, "/"):
			mustMkdir(tb, filepath.Join(dir, s))
		default:
			name, content, ok := strings.Cut(s, " = ")
			if !ok {
				content = inside
			}
			mustMkdir(tb, filepath.Dir(filepath.Join(dir, name)))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func mustMkdir(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
}

// newFixture returns <T> and <T>/root, with <T>/sentinel.txt outside the
// root and the root filled from specs.
func newFixture(tb testing.TB, specs ...string) (tmp, root string) {
	tb.Helper()
	tmp = tb.TempDir()
	root = filepath.Join(tmp, "root")
	mustMkdir(tb, root)
	mustBuild(tb, tmp, "sentinel.txt = "+sentinel)
	mustBuild(tb, root, specs...)
	return tmp, root
}

// setup is what a test may adjust before a connector is made: the
// resource's configuration and what the engine would tell it.
type setup struct {
	*fs.Config
	Host core.Host
}

// newConnector returns an opened connector for root; edit may adjust the
// setup first.
func newConnector(tb testing.TB, root string, edit ...func(*setup)) *fs.Connector {
	tb.Helper()
	s := &setup{Config: &fs.Config{Root: root}}
	for _, e := range edit {
		e(s)
	}
	spec := &core.ResourceSpec{Name: "notes", Kind: "fs", Config: s.Config}
	c, err := fs.New(spec, s.Host)
	if err != nil {
		tb.Fatalf("New(%q) error: %v", root, err)
	}
	if err := c.Open(context.Background()); err != nil {
		tb.Fatalf("Open(%q) error: %v", root, err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// args encodes tool arguments.
func args(tb testing.TB, v map[string]any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// pathArgs is the argument object {"path": p}.
func pathArgs(tb testing.TB, p string) json.RawMessage { return args(tb, map[string]any{"path": p}) }

// outcome is one call through Prepare, a policy check and Execute.
type outcome struct {
	Path   string       // inv.Path after Prepare
	Stage  string       // "Prepare", "Policy" or "Execute" when the call failed
	Err    error        // the failure
	Result *core.Result // on success
	JSON   string       // the result value, encoded
}

func (o outcome) String() string {
	if o.Err != nil {
		return fmt.Sprintf("%s error (path %q): %v [kind %v, reason %s]", o.Stage, o.Path, o.Err, core.KindOf(o.Err), core.ReasonOf(o.Err))
	}
	return fmt.Sprintf("ok (path %q): %.300s", o.Path, o.JSON)
}

// do runs one call the way the pipeline does: Prepare, then the policy
// (scope.Visible on inv.Path), then Execute with scope as the scope, and
// finally closes the state.
func do(tb testing.TB, c core.Connector, op string, a json.RawMessage, scope core.Scope) outcome {
	tb.Helper()
	return doCtx(tb, context.Background(), c, op, a, scope)
}

func doCtx(tb testing.TB, ctx context.Context, c core.Connector, op string, a json.RawMessage, scope core.Scope) outcome {
	tb.Helper()
	return doWith(tb, c, op, a, with{ctx: ctx, scope: scope})
}

// with is what the engine adds to a call: the policy (as a scope, also
// checked on inv.Path and every inv.Paths entry), the journal and the
// grant's options.
type with struct {
	ctx     context.Context
	scope   core.Scope
	journal core.Journal
	options core.GrantOptions
}

// doWith runs one call like do, with a journal and grant options.
func doWith(tb testing.TB, c core.Connector, op string, a json.RawMessage, w with) outcome {
	tb.Helper()
	ctx, scope := w.ctx, w.scope
	if ctx == nil {
		ctx = context.Background()
	}
	inv := &core.Invocation{Op: op, Args: a}
	defer func() {
		if cl, ok := inv.State.(interface{ Close() error }); ok {
			cl.Close()
		}
	}()
	if err := c.Prepare(ctx, inv); err != nil {
		return outcome{Path: inv.Path, Stage: "Prepare", Err: err}
	}
	if scope != nil && !scope.Visible(inv.Path) {
		return outcome{Path: inv.Path, Stage: "Policy", Err: core.E("policy", core.KindDenied, core.ReasonDenyRule, "denied", nil)}
	}
	for _, p := range inv.Paths {
		if scope != nil && !scope.Visible(p) {
			return outcome{Path: inv.Path, Stage: "Policy", Err: core.E("policy", core.KindDenied, core.ReasonDenyRule, "denied", nil)}
		}
	}
	if w.journal != nil {
		inv.Journal = w.journal
	}
	inv.Options = w.options
	res, err := c.Execute(ctx, inv, scope)
	if fc, ok := c.(*fs.Connector); ok {
		fs.SettleForTest(fc) // the tests look at the tree next
	}
	if err != nil {
		return outcome{Path: inv.Path, Stage: "Execute", Err: err}
	}
	b, jerr := res.JSON()
	if jerr != nil {
		tb.Fatalf("result of %s %s does not encode: %v", op, a, jerr)
	}
	return outcome{Path: inv.Path, Result: res, JSON: string(b)}
}

// readContent decodes a read result's content.
func readContent(tb testing.TB, o outcome) string {
	tb.Helper()
	var r struct {
		Encoding, Content string
	}
	if err := json.Unmarshal([]byte(o.JSON), &r); err != nil {
		tb.Fatal(err)
	}
	if r.Encoding != "text" {
		tb.Fatalf("read result encoding = %q, want text", r.Encoding)
	}
	return r.Content
}

// Interface guards for the helpers' assumptions.
var _ = connectortest.Call

func mustRemove(tb testing.TB, dir, name string) {
	tb.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		tb.Fatal(err)
	}
}

// mustDeepDirs creates n nested directories called name under dir, one
// level at a time from an open handle (os.MkdirAll re-walks the whole path
// for every level, which is quadratic), and returns their relative path
// with a trailing slash.
func mustDeepDirs(tb testing.TB, dir, name string, n int) string {
	tb.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for range n {
		if err := r.Mkdir(name, 0o755); err != nil && !os.IsExist(err) {
			r.Close()
			tb.Fatal(err)
		}
		next, err := r.OpenRoot(name)
		r.Close()
		if err != nil {
			tb.Fatal(err)
		}
		r = next
	}
	r.Close()
	return strings.Repeat(name+"/", n)
}

func mustNew(tb testing.TB, spec *core.ResourceSpec, host core.Host) *fs.Connector {
	tb.Helper()
	c, err := fs.New(spec, host)
	if err != nil {
		tb.Fatalf("New error: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// hardlinksIf returns the options of a grant that says hardlinks: allowed.
func hardlinksIf(allowed bool) core.GrantOptions {
	if allowed {
		return core.GrantOptions{}.WithFlag(fs.OptionHardlinks)
	}
	return core.GrantOptions{}
}
