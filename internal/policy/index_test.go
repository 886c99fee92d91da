package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// flatten rebuilds every rule index with all rules unindexed, so tests can
// compare the indexed decision with a plain scan in file order.
func flatten(p *Policy) {
	for _, a := range p.agents {
		for _, byAction := range a.index {
			for _, rs := range byAction {
				for _, x := range []*ruleIndex{&rs.denies, &rs.grants} {
					var all []*rule
					seen := map[*rule]bool{}
					collect := func(list []*rule) {
						for _, r := range list {
							if !seen[r] {
								seen[r] = true
								all = append(all, r)
							}
						}
					}
					for _, l := range x.byFirst {
						collect(l)
					}
					for _, l := range x.byCount {
						collect(l)
					}
					for _, l := range x.byLast {
						collect(l)
					}
					for _, l := range x.byExt {
						collect(l)
					}
					collect(x.rest)
					flat := ruleIndex{}
					for _, r := range sortByOrder(all) {
						flat.n++
						if r.approval {
							flat.approvals++
						}
						if !r.options.IsZero() {
							flat.withOptions++
						}
						flat.rest = append(flat.rest, r)
					}
					*x = flat
				}
			}
		}
	}
}

func sortByOrder(rs []*rule) []*rule {
	out := make([]*rule, len(rs))
	copy(out, rs)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].order < out[j-1].order; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestIndexMatchesScan compares decisions through the index with a plain
// scan, on random policies and paths.
func TestIndexMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "docs", "*", "*.md", "x?", "**", "{id}", "private", "[ab]", "f.md", "*.txt", "*.m?"}
	pattern := func() string {
		n := 1 + rng.IntN(3)
		var parts []string
		for range n {
			s := segs[rng.IntN(len(segs))]
			if s == "{id}" {
				s = "c"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "/")
	}
	names := []string{"a", "b", "docs", "x1", "f.md", "private", "c", "g.txt", ".md", "x.tar.md"}
	target := func() string {
		n := rng.IntN(4)
		if n == 0 {
			return "."
		}
		var parts []string
		for range n {
			parts = append(parts, names[rng.IntN(len(names))])
		}
		return strings.Join(parts, "/")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "r"), 0o755); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 300; round++ {
		var b strings.Builder
		b.WriteString("version: 1\nresources:\n  r: {kind: fs, root: ./r}\nagents:\n  a:\n    grants:\n")
		for g := 0; g < 20; g++ {
			approval := ""
			if rng.IntN(5) == 0 {
				approval = ", approval: required"
			}
			fmt.Fprintf(&b, "      - {resource: r, actions: [read], paths: [%q, %q]%s}\n", pattern(), pattern(), approval)
		}
		b.WriteString("    deny:\n")
		for d := 0; d < 3; d++ {
			fmt.Fprintf(&b, "      - {resource: r, paths: [%q]}\n", pattern())
		}
		indexed, err := Compile([]byte(b.String()), WithBaseDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		flat, _ := Compile([]byte(b.String()), WithBaseDir(dir))
		flatten(flat)
		for i := 0; i < 200; i++ {
			req := &core.Request{Agent: "a", Resource: "r", Action: "read", Path: target()}
			got := indexed.Evaluate(context.Background(), req)
			want := flat.Evaluate(context.Background(), req)
			if got.Effect != want.Effect || got.Rule != want.Rule {
				t.Fatalf("round %d, path %q: indexed %v, scan %v\npolicy:\n%s", round, req.Path, got, want, b.String())
			}
		}
	}
}
