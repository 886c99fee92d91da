package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/connector/httpapi"

	"github.com/warden-dev/warden/internal/core"
)

func Example() {
	dir, _ := os.MkdirTemp("", "warden-example")
	defer os.RemoveAll(dir)
	_ = os.Mkdir(filepath.Join(dir, "notes"), 0o755)

	src := []byte(`
version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  assistant:
    grants:
      - {resource: notes, actions: [read]}
    deny:
      - {resource: notes, paths: ["private/**"]}
`)
	p, err := Compile(src, WithSource("warden.yaml"), WithBaseDir(dir))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"todo.md", "private/diary.md", ".env"} {
		d := p.Evaluate(context.Background(), &core.Request{Agent: "assistant", Resource: "notes", Action: "read", Path: path})
		fmt.Printf("%s: %s\n", path, d)
	}
	// Output:
	// todo.md: allow (grant) by agents.assistant.grants[0]
	// private/diary.md: deny (deny-rule) by agents.assistant.deny[0]
	// .env: deny (sensitive-path)
}

func TestDefault(t *testing.T) {
	dir := t.TempDir()
	p, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Settings().StateDir; got != filepath.Join(dir, ".warden") {
		t.Errorf("StateDir = %q, want %q", got, filepath.Join(dir, ".warden"))
	}
	ctx := context.Background()
	tests := []struct {
		action, path string
		want         core.Effect
	}{
		{"read", "a.txt", core.Allow},
		{"list", ".", core.Allow},
		{"search", ".", core.Allow},
		{"stat", "a.txt", core.Allow},
		{"write", "a.txt", core.Deny},
		{"delete", "a.txt", core.Deny},
		{"read", ".env", core.Deny},
		{"read", "keys/id_rsa", core.Deny},
		// Issue 12: secret files the defaults once missed.
		{"read", "etc/shadow", core.Deny},
		{"read", "home/bob/.bash_history", core.Deny},
		{"read", "creds/credentials.json", core.Deny},
		{"search", "home/bob/.kube/config", core.Deny},
		{"read", "release.keystore", core.Deny},
	}
	for _, tt := range tests {
		d := p.Evaluate(ctx, &core.Request{Agent: DefaultAgent, Resource: DefaultResource, Action: tt.action, Path: tt.path})
		if d.Effect != tt.want {
			t.Errorf("Default: Evaluate(%s %s) = %v, want %v", tt.action, tt.path, d, tt.want)
		}
	}
}

func TestDefaultRootWithQuotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), `we"ird: dir #1`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Resource(DefaultResource).Config.(*fs.Config).Root; got != dir {
		t.Errorf("root = %q, want %q", got, dir)
	}
}

func TestScope(t *testing.T) {
	p, _ := loadCase(t, "example")
	ctx := context.Background()
	scope := p.Scope(ctx, &core.Request{Agent: "assistant", Resource: "notes", Action: "list", Path: "."})
	tests := []struct {
		path string
		want bool
	}{
		{"docs", true},
		{"docs/a.md", true},
		{"private", false},
		{"private/x", false},
		{"Private/x", false},
		{".env", false},
		{"drafts/.ssh", false},
	}
	for _, tt := range tests {
		if got := scope.Visible(tt.path); got != tt.want {
			t.Errorf("Scope.Visible(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
	none := p.Scope(ctx, &core.Request{Agent: "nobody", Resource: "notes", Action: "list"})
	if none.Visible("docs") {
		t.Errorf("Scope for an unknown agent shows entries")
	}
}

func TestExplainSteps(t *testing.T) {
	p, _ := loadCase(t, "example")
	d, steps := p.Explain(context.Background(), &core.Request{Agent: "assistant", Resource: "notes", Action: "read", Path: "private/a"})
	if d.Effect != core.Deny || len(steps) == 0 {
		t.Fatalf("Explain = %v, %v", d, steps)
	}
	last := steps[len(steps)-1]
	if last.Rule != "agents.assistant.deny[0]" || !strings.HasPrefix(last.Outcome, "matched") {
		t.Errorf("last step = %+v, want the deny rule matching", last)
	}
	if !strings.Contains(last.Position, "policy.yaml:") {
		t.Errorf("step position = %q, want file:line:col", last.Position)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.txt"), []byte("file-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "empty.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOKEN_A": "env-token-value", "EMPTY": ""}
	compile := func(ref string) (*Policy, error) {
		src := fmt.Sprintf(`version: 1
resources:
  api:
    kind: http
    base_url: https://api.example/v1/
    auth: {bearer: %q}
agents:
  a:
    grants: [{resource: api, read_only: true}]
`, ref)
		return Compile([]byte(src), WithBaseDir(dir), WithLookupEnv(func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		}))
	}
	tests := []struct {
		ref     string
		want    string // revealed value, or "" for an error
		wantErr string
	}{
		{"env:TOKEN_A", "env-token-value", ""},
		{"file:key.txt", "file-secret-value", ""},
		{"file:" + filepath.Join(dir, "key.txt"), "file-secret-value", ""},
		{"env:MISSING", "", "environment variable MISSING is not set"},
		{"env:EMPTY", "", "environment variable EMPTY is empty"},
		{"file:nope.txt", "", "cannot read secret file file:nope.txt"},
		{"file:empty.txt", "", "secret file file:empty.txt is empty"},
		{"plain-inline-value", "", "secrets must be references"},
		{"env:", "", `"env:" needs a variable name`},
	}
	for _, tt := range tests {
		p, err := compile(tt.ref)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("secret %q: error %v, want it to contain %q", tt.ref, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "plain-inline-value") {
				t.Errorf("secret %q: error reveals the inline value: %v", tt.ref, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("secret %q: %v", tt.ref, err)
			continue
		}
		got := p.Resource("api").Config.(*httpapi.Config).Auth.Secret
		if got.Reveal() != tt.want {
			t.Errorf("secret %q revealed %q, want %q", tt.ref, got.Reveal(), tt.want)
		}
		if s := fmt.Sprintf("%v %+v %#v %s", got, got, got, got); strings.Contains(s, tt.want) {
			t.Errorf("formatting the secret printed its value: %s", s)
		}
		if len(p.Secrets()) != 1 {
			t.Errorf("Secrets() = %d entries, want 1", len(p.Secrets()))
		}
	}
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	src := `version: 1
settings:
  state_dir: ./state
  approvals: {ttl: 30m, elicitation: false}
  audit: {sync: always}
  limits: {max_argument_bytes: 64KiB, max_result_bytes: "2MiB"}
resources:
  notes: {kind: fs, root: ., limits: {max_read_bytes: 4096, search_timeout: 2s}}
agents:
  a:
    limits: {calls_per_minute: 60}
    grants: [{resource: notes, actions: [read]}]
`
	p, err := Compile([]byte(src), WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Settings()
	if s.StateDir != filepath.Join(dir, "state") || s.ApprovalTTL != 30*time.Minute || s.Elicitation || s.AuditSync != "always" || s.MaxArgumentBytes != 64<<10 || s.MaxResultBytes != 2<<20 {
		t.Errorf("Settings() = %+v", s)
	}
	l := p.Resource("notes").Config.(*fs.Config).Limits
	if l.MaxReadBytes != 4096 || l.SearchTimeout != 2*time.Second {
		t.Errorf("fs limits = %+v", l)
	}
	if got := p.AgentLimits("a").CallsPerMinute; got != 60 {
		t.Errorf("calls_per_minute = %d, want 60", got)
	}
}

func TestLoadResolvesAgainstPolicyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "warden.yaml")
	src := "version: 1\nresources:\n  notes: {kind: fs, root: ./notes}\nagents:\n  a:\n    grants: [{resource: notes, actions: [read]}]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // relative paths must not depend on the working directory
	p, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Resource("notes").Config.(*fs.Config).Root; got != filepath.Join(dir, "notes") {
		t.Errorf("root = %q, want %q", got, filepath.Join(dir, "notes"))
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "policy.yaml"))
	more, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	for _, file := range append(files, more...) {
		if src, err := os.ReadFile(file); err == nil {
			f.Add(src)
		}
	}
	dir := f.TempDir()
	_ = os.Mkdir(filepath.Join(dir, "notes"), 0o755)
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Compile(src, WithBaseDir(dir), WithLookupEnv(func(string) (string, bool) { return "fuzz-secret-value", true }))
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Compile error %T %v, want non-empty Errors", err, err)
			}
			if strings.Contains(err.Error(), "fuzz-secret-value") {
				t.Fatalf("error reveals a secret value: %v", err)
			}
			return
		}
		// Whatever compiled must evaluate without panicking, and unknown
		// agents are always denied.
		for _, a := range p.Agents() {
			for _, r := range p.Resources() {
				p.Evaluate(context.Background(), &core.Request{Agent: a, Resource: r.Name, Action: "read", Path: "x/y"})
			}
		}
		if d := p.Evaluate(context.Background(), &core.Request{Agent: "\x00nobody", Resource: "notes", Action: "read"}); d.Effect != core.Deny {
			t.Fatalf("unknown agent allowed: %v", d)
		}
	})
}
