package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

const twoResources = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
  shop:
    kind: sql
    driver: sqlite
    dsn: ./shop.db
agents:
  bot:
    grants:
      - {resource: notes, actions: [read]}
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`

// events collects what the engine reports about resources.
type events struct {
	mu  sync.Mutex
	evs []engine.ResourceEvent
}

func (r *events) add(ev engine.ResourceEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *events) list() []engine.ResourceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func loadPolicy(t *testing.T, dir, src string) *policy.Policy {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes", "a.md"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// createSQLite makes the database appear at path whole: written beside it,
// then renamed into place.
func createSQLite(t *testing.T, path, script string) {
	t.Helper()
	tmp := path + ".tmp"
	c, err := sqlite3.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(script); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func toolNames(tools []*engine.Tool) []string {
	var out []string
	for _, t := range tools {
		out = append(out, t.Name)
	}
	return out
}

var fast = engine.Backoff{First: 5 * time.Millisecond, Max: 40 * time.Millisecond}

// TestResourceOpensLater: a SQLite file missing at start does not stop the
// engine. The failure is reported once with the resource's place in the
// policy; the fs resource's tools work; a call of the missing resource's
// tool fails with resource-unavailable (not unknown-tool), naming the
// cause for the operator. Once the file exists the retries open it, the
// listeners hear of it, and its tool answers from the database. Calls run
// all along, so -race checks the swap of the tool set.
func TestResourceOpensLater(t *testing.T) {
	dir := t.TempDir()
	p := loadPolicy(t, dir, twoResources)
	var got events
	e, err := engine.New(context.Background(), p, engine.Options{NoState: true, Retry: fast, OnResource: got.add})
	if err != nil {
		t.Fatalf("New with a missing SQLite file: %v", err)
	}
	defer e.Close()
	changed := make(chan struct{}, 1)
	e.OnToolsChanged(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})

	evs := got.list()
	if len(evs) != 1 || evs[0].Resource != "shop" || evs[0].Err == nil || !evs[0].Retrying {
		t.Fatalf("events at start = %+v, want one failure of shop, retrying", evs)
	}
	wantPrefix := filepath.Join(dir, "warden.yaml") + `:4:3: resource "shop": `
	if msg := evs[0].Err.Error(); !strings.HasPrefix(msg, wantPrefix) {
		t.Errorf("report = %q, want it to start with %q", msg, wantPrefix)
	}
	if names := toolNames(e.Tools("bot")); slices.Contains(names, "shop_query") || !slices.Contains(names, "notes_read") {
		t.Fatalf("tools at start = %v, want notes_* and no shop_*", names)
	}
	if out := e.Call(context.Background(), core.Call{Agent: "bot", Tool: "notes_read", Args: json.RawMessage(`{"path":"a.md"}`)}, engine.CallOptions{}); out.Status != engine.StatusOK {
		t.Fatalf("notes_read while shop is down: %v %s", out.Reason, out.Message)
	}
	out := e.Call(context.Background(), core.Call{Agent: "bot", Tool: "shop_query", Args: json.RawMessage(`{"sql":"SELECT 1"}`)}, engine.CallOptions{})
	var re *engine.ResourceError
	if out.Status != engine.StatusFailed || out.Reason != core.ReasonResourceUnavailable || !errors.As(out.Err, &re) || re.Resource != "shop" {
		t.Fatalf("shop_query while shop is down = %v %v %q (err %v), want failed, resource-unavailable, with the ResourceError", out.Status, out.Reason, out.Message, out.Err)
	}
	if strings.Contains(out.Message, dir) {
		t.Errorf("the model's message holds a host path: %q", out.Message)
	}
	// A name no resource has stays unknown.
	if out := e.Call(context.Background(), core.Call{Agent: "bot", Tool: "nope_query"}, engine.CallOptions{}); out.Reason != core.ReasonUnknownTool {
		t.Errorf("nope_query = %v, want unknown-tool", out.Reason)
	}

	// Calls go on while the set changes.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.Call(context.Background(), core.Call{Agent: "bot", Tool: "shop_query", Args: json.RawMessage(`{"sql":"SELECT id FROM orders"}`)}, engine.CallOptions{})
			_ = e.Tools("bot")
		}
	}()
	createSQLite(t, filepath.Join(dir, "shop.db"), "CREATE TABLE orders (id INTEGER PRIMARY KEY, total NUMERIC); INSERT INTO orders VALUES (7, 9.5);")
	select {
	case <-changed:
	case <-time.After(20 * time.Second):
		t.Fatalf("the tool set did not change after the database appeared; events: %+v", got.list())
	}
	close(stop)
	wg.Wait()

	if names := toolNames(e.Tools("bot")); !slices.Contains(names, "shop_query") || !slices.Contains(names, "notes_read") {
		t.Fatalf("tools after the database appeared = %v", names)
	}
	out = e.Call(context.Background(), core.Call{Agent: "bot", Tool: "shop_query", Args: json.RawMessage(`{"sql":"SELECT id, total FROM orders"}`)}, engine.CallOptions{})
	if out.Status != engine.StatusOK || !strings.Contains(string(out.JSON()), "9.5") {
		t.Fatalf("shop_query once open = %v %v %s %s", out.Status, out.Reason, out.Message, out.JSON())
	}
	evs = got.list()
	if last := evs[len(evs)-1]; len(evs) != 2 || last.Resource != "shop" || last.Err != nil {
		t.Errorf("events = %+v, want the failure then shop opened", evs)
	}
	if u := e.Unavailable(); len(u) != 0 {
		t.Errorf("Unavailable() after the open = %v", u)
	}
}

// TestStrictResources: with settings.strict_resources, or
// Options.StrictResources, a resource that cannot be opened fails New
// with its position and cause, and nothing keeps running.
func TestStrictResources(t *testing.T) {
	for name, tc := range map[string]struct {
		src  string
		opts engine.Options
	}{
		"setting": {strings.Replace(twoResources, "resources:\n", "settings:\n  strict_resources: true\nresources:\n", 1), engine.Options{NoState: true}},
		"option":  {twoResources, engine.Options{NoState: true, StrictResources: true}},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := loadPolicy(t, dir, tc.src)
			if !p.Settings().StrictResources && tc.opts.StrictResources == false {
				t.Fatal("strict_resources: true did not reach the settings")
			}
			e, err := engine.New(context.Background(), p, tc.opts)
			if err == nil {
				e.Close()
				t.Fatal("New succeeded with a missing SQLite file and strict resources")
			}
			var re *engine.ResourceError
			if !errors.As(err, &re) || re.Resource != "shop" || !strings.HasPrefix(err.Error(), filepath.Join(dir, "warden.yaml")+":") {
				t.Errorf("error = %v, want a ResourceError for shop with its position", err)
			}
		})
	}
}

// flaky is a connector that cannot be opened until up is set, counting
// attempts; with excess set, its login can do more than the grants need.
type flaky struct {
	up       *atomic.Bool
	attempts *atomic.Int32
	excess   bool
}

func (f *flaky) Operations() []core.Operation {
	return []core.Operation{{Name: "query", Action: "query", Summary: "Run a query.", ReadOnly: true,
		InputSchema: json.RawMessage(`{"type":"object","properties":{"sql":{"type":"string"}},"additionalProperties":false}`)}}
}
func (f *flaky) Prepare(context.Context, *core.Invocation) error { return nil }
func (f *flaky) Execute(context.Context, *core.Invocation, core.Scope) (*core.Result, error) {
	return &core.Result{Value: "ok"}, nil
}
func (f *flaky) Open(context.Context) error {
	f.attempts.Add(1)
	if !f.up.Load() {
		return errors.New("connection refused")
	}
	return nil
}
func (f *flaky) CheckPrivileges(context.Context, func(action, target string) bool) (core.PrivilegeReport, error) {
	// The policies of these tests say strict_credentials: true.
	r := core.PrivilegeReport{Strict: "strict_credentials"}
	if f.excess {
		r.Findings = []string{"it can change table orders"}
	}
	return r, nil
}

func registerFlaky(t *testing.T, excess bool) (up *atomic.Bool, attempts *atomic.Int32) {
	up, attempts = new(atomic.Bool), new(atomic.Int32)
	replaceConnector(t, "sql", func() (core.Connector, error) {
		return &flaky{up: up, attempts: attempts, excess: excess}, nil
	})
	return up, attempts
}

// TestCloseStopsRetries: Close ends the retries and waits for them: no
// attempt is made after it returns, and no event arrives.
func TestCloseStopsRetries(t *testing.T) {
	_, attempts := registerFlaky(t, false)
	dir := t.TempDir()
	var got events
	e, err := engine.New(context.Background(), loadPolicy(t, dir, twoResources), engine.Options{NoState: true, Retry: engine.Backoff{First: time.Millisecond, Max: time.Millisecond}, OnResource: got.add})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if attempts.Load() < 5 {
		t.Fatalf("only %d attempts in 10s with a 1ms backoff", attempts.Load())
	}
	e.Close()
	n := attempts.Load()
	time.Sleep(50 * time.Millisecond)
	if after := attempts.Load(); after != n {
		t.Errorf("%d attempts after Close returned", after-n)
	}
	if evs := got.list(); len(evs) != 1 {
		t.Errorf("events = %+v, want only the failure at start", evs)
	}
}

// TestBackoffCapped: the attempts follow the schedule, doubling to the cap.
func TestBackoffCapped(t *testing.T) {
	_, attempts := registerFlaky(t, false)
	e, err := engine.New(context.Background(), loadPolicy(t, t.TempDir(), twoResources), engine.Options{NoState: true, Retry: engine.Backoff{First: 10 * time.Millisecond, Max: 40 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	e.Close()
	// 1 at start, then at 10, 30, 70, 110, 150, ... ms: about 27 in a
	// second. Without the doubling there would be about 100; without the
	// cap, 7.
	if n := attempts.Load(); n < 14 || n > 40 {
		t.Errorf("%d attempts in 1s with backoff 10ms doubling to 40ms, want about 27", n)
	}
}

// TestLateOpenFailsStrictCredentials: a resource that opens only after the
// start and then fails strict_credentials stays unavailable, is reported
// once with the findings, and is no longer retried; the engine keeps
// serving the others.
func TestLateOpenFailsStrictCredentials(t *testing.T) {
	up, attempts := registerFlaky(t, true)
	src := strings.Replace(twoResources, "dsn: ./shop.db\n", "dsn: ./shop.db\n    strict_credentials: true\n", 1)
	var got events
	e, err := engine.New(context.Background(), loadPolicy(t, t.TempDir(), src), engine.Options{NoState: true, Retry: fast, OnResource: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	up.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for len(got.list()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	evs := got.list()
	if len(evs) != 2 || evs[1].Err == nil || evs[1].Retrying || !strings.Contains(evs[1].Err.Error(), "strict_credentials") || !strings.Contains(evs[1].Err.Error(), "change table orders") {
		t.Fatalf("events = %+v, want the start failure then a final strict_credentials refusal", evs)
	}
	n := attempts.Load()
	time.Sleep(100 * time.Millisecond)
	if attempts.Load() != n {
		t.Errorf("still retried after the strict_credentials refusal")
	}
	if slices.Contains(toolNames(e.Tools("bot")), "shop_query") {
		t.Error("shop_query offered although its login failed strict_credentials")
	}
	out := e.Call(context.Background(), core.Call{Agent: "bot", Tool: "shop_query", Args: json.RawMessage(`{"sql":"x"}`)}, engine.CallOptions{})
	if out.Reason != core.ReasonResourceUnavailable || !strings.Contains(out.Err.Error(), "strict_credentials") {
		t.Errorf("shop_query = %v %v, want resource-unavailable naming strict_credentials", out.Reason, out.Err)
	}
}

// changing fails to open with "connection refused" twice, then with
// "permission denied" for good.
type changing struct {
	flaky
}

func (c *changing) Open(context.Context) error {
	if c.attempts.Add(1) <= 2 {
		return errors.New("connection refused")
	}
	return errors.New("permission denied")
}

// TestRetryReportsNewCause: the same cause is reported once, however many
// attempts fail with it; a new cause (a file that appeared but cannot be
// read) is reported again, once.
func TestRetryReportsNewCause(t *testing.T) {
	attempts := new(atomic.Int32)
	replaceConnector(t, "sql", func() (core.Connector, error) {
		return &changing{flaky{up: new(atomic.Bool), attempts: attempts}}, nil
	})
	var got events
	e, err := engine.New(context.Background(), loadPolicy(t, t.TempDir(), twoResources), engine.Options{NoState: true, Retry: engine.Backoff{First: time.Millisecond, Max: time.Millisecond}, OnResource: got.add})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	e.Close()
	evs := got.list()
	if len(evs) != 2 || !strings.HasSuffix(evs[0].Message, "connection refused") || !strings.HasSuffix(evs[1].Message, "permission denied") || !evs[1].Retrying {
		t.Fatalf("after %d attempts, events = %+v, want connection refused then permission denied, once each", attempts.Load(), evs)
	}
	if u := e.Unavailable(); len(u) != 1 || !strings.HasSuffix(u[0].Error(), "permission denied") {
		t.Errorf("Unavailable() = %v, want the latest cause", u)
	}
}

// replaceConnector makes the compiled-in kind's resources use the
// connectors newConn returns, for the test: the policy syntax stays the
// kind's own.
func replaceConnector(t *testing.T, kind string, newConn func() (core.Connector, error)) {
	t.Helper()
	real := connector.Lookup(kind)
	if real == nil {
		t.Fatalf("no kind %q in this build", kind)
	}
	k := *real
	k.New = func(*core.ResourceSpec, core.Host) (core.Connector, error) { return newConn() }
	connector.RegisterForTest(t, &k)
}
