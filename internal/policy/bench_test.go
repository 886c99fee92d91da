package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// bigPolicy writes a policy with the given number of grants and compiles it.
// spread spreads them over 50 agents and 20 resources; otherwise they all
// belong to one agent and one resource, each scoped to its own directory.
// paths is the grant's path list, with %d standing for the grant number.
func bigPolicy(tb testing.TB, grants int, spread bool, paths string) *Policy {
	tb.Helper()
	base := tb.TempDir()
	var b strings.Builder
	b.WriteString("version: 1\nresources:\n")
	for r := 0; r < 20; r++ {
		if err := os.Mkdir(filepath.Join(base, fmt.Sprint("r", r)), 0o755); err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&b, "  res%d: {kind: fs, root: ./r%d}\n", r, r)
	}
	b.WriteString("agents:\n")
	agents := 1
	if spread {
		agents = 50
	}
	per := grants / agents
	for a := 0; a < agents; a++ {
		fmt.Fprintf(&b, "  agent%d:\n    deny:\n      - {resource: res0, paths: [\"private/**\"]}\n    grants:\n", a)
		for g := 0; g < per; g++ {
			res := 0
			if spread {
				res = g % 20
			}
			fmt.Fprintf(&b, "      - {resource: res%d, actions: [read, list], paths: [%s]}\n", res, strings.ReplaceAll(paths, "%d", fmt.Sprint(g)))
		}
	}
	p, err := Compile([]byte(b.String()), WithBaseDir(base))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func BenchmarkEvaluate(b *testing.B) {
	const literal, wild = `"dir%d/**"`, `"dir%d/**", "*.md%d"`
	for _, bc := range []struct {
		name   string
		spread bool
		paths  string
		path   string
	}{
		// 50 agents × 20 grants over 20 resources.
		{"spread", true, wild, "dir40/notes/today.txt"},
		// One agent, one resource, 1,000 directory-scoped grants: the
		// first-segment index finds the grant directly.
		{"one-agent-last-grant", false, literal, "dir999/notes/today.txt"},
		{"one-agent-no-grant", false, literal, "nowhere/today.txt"},
		{"one-agent-denied", false, literal, "private/today.txt"},
		// Every grant also has a wildcard-first pattern: indexed by its
		// number of segments.
		{"one-agent-wildcards-last-grant", false, wild, "dir999/notes/today.txt"},
		// The pathological case: every grant also has a pattern starting
		// with "**", which the index cannot place, so all 1,000 are tried.
		{"one-agent-doublestar-last-grant", false, `"dir%d/**", "**/*.md%d"`, "dir999/notes/today.txt"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := bigPolicy(b, 1000, bc.spread, bc.paths)
			req := &core.Request{Agent: "agent0", Resource: "res0", Action: "read", Path: bc.path}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				p.Evaluate(ctx, req)
			}
		})
	}
}

func TestBigPolicyDecisions(t *testing.T) {
	p := bigPolicy(t, 1000, false, `"dir%d/**", "*.md%d"`)
	ctx := context.Background()
	tests := []struct {
		path string
		want core.Effect
		rule string
	}{
		{"dir999/a.txt", core.Allow, "agents.agent0.grants[999]"},
		{"dir0/a.txt", core.Allow, "agents.agent0.grants[0]"},
		{"readme.md0", core.Allow, "agents.agent0.grants[0]"},
		{"readme.md7", core.Allow, "agents.agent0.grants[7]"},
		{"nowhere/a.txt", core.Deny, ""},
		{"private/a.md", core.Deny, "agents.agent0.deny[0]"},
	}
	for _, tt := range tests {
		got := p.Evaluate(ctx, &core.Request{Agent: "agent0", Resource: "res0", Action: "read", Path: tt.path})
		if got.Effect != tt.want || got.Rule != tt.rule {
			t.Errorf("Evaluate(%q) = %v, want %v by %q", tt.path, got, tt.want, tt.rule)
		}
	}
}

// agentsPolicy returns a policy with n agents on one http resource, each
// with a grant of its own and every tenth with a deny rule, written
// compactly so that 100,000 agents fit in MaxPolicyBytes.
func agentsPolicy(n int) []byte {
	var b strings.Builder
	b.WriteString("version: 1\nresources:\n  r: {kind: http, base_url: \"https://api.example.com/v1/\"}\nagents:\n")
	for i := range n {
		fmt.Fprintf(&b, "  a%d: {grants: [{resource: r, actions: [GET], paths: [/v1/x%d/**]}]", i, i)
		if i%10 == 0 {
			b.WriteString(", deny: [{resource: r, paths: [/v1/admin/**]}]")
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// BenchmarkCompile measures compile time against the number of agents; it
// grows linearly (issue 12: 200,000 agents once took 258 s, the YAML
// parser copying each mapping's entries once per entry).
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			src := agentsPolicy(n)
			dir := b.TempDir()
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(src, WithBaseDir(dir)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
