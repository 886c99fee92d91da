package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// The direct check never accepts arguments jsonschema's validator refuses,
// for every tool of the fs kind, over arguments right and wrong in every
// way the schemas can tell; and it does accept the usual write and edit,
// so that the validator is not what the pipeline runs for them.
func TestValidateArgsDirectNeverAcceptsMore(t *testing.T) {
	dir := t.TempDir()
	e := openNoState(t, dir, "version: 1\nresources:\n  files: {kind: fs, root: .}\nagents:\n  default:\n    grants:\n      - {resource: files, actions: [read, list, search, stat, write, edit, mkdir, move, delete]}\n")

	long := strings.Repeat("é", 5000)
	scalars := []any{nil, true, false, "", "a", "text", "base64", "create", "overwrite", "append", "x/y.txt", long, long[:4096*2],
		-1.0, 0.0, 0.5, 1.0, 2.0, 100.0, 101.0, 1e6, 1 << 53, 1<<53 + 2, 1e300, -1e300}
	strs := []any{"", "a", "text", "base64", "create", "overwrite", "append", "x/y.txt", long, long[:4096*2]}
	pick := func(r *rand.Rand, vs []any) any { return vs[r.IntN(len(vs))] }
	edit := func(r *rand.Rand) any {
		m := map[string]any{}
		for _, k := range []string{"old", "new", "extra"} {
			switch {
			case k == "extra" && r.IntN(10) > 0:
			case r.IntN(10) == 0:
			case r.IntN(4) == 0:
				m[k] = pick(r, scalars)
			default:
				m[k] = pick(r, strs)
			}
		}
		return m
	}
	value := func(r *rand.Rand, key string) any {
		if r.IntN(4) > 0 { // mostly a value of the right kind
			switch key {
			case "edits":
				list := make([]any, r.IntN(3)+1)
				for i := range list {
					list[i] = edit(r)
				}
				return list
			case "recursive", "ignore_case", "dry_run", "overwrite":
				return pick(r, []any{true, false})
			case "offset", "length", "limit", "max_results":
				return pick(r, []any{0.0, 1.0, 2.0, 100.0, 0.5, -1.0, 1 << 53, 1e300})
			}
			return pick(r, strs)
		}
		switch r.IntN(6) {
		case 0:
			n := r.IntN(4)
			if r.IntN(8) == 0 {
				n = 101
			}
			list := make([]any, n)
			for i := range list {
				list[i] = edit(r)
			}
			return list
		case 1:
			return edit(r)
		}
		return scalars[r.IntN(len(scalars))]
	}
	r := rand.New(rand.NewPCG(1, 2))
	tools := e.Tools("default")
	if len(tools) < 9 {
		t.Fatalf("%d tools, want the fs kind's 9", len(tools))
	}
	for _, tool := range tools {
		rs, err := tool.resolvedSchema()
		if err != nil {
			t.Fatal(err)
		}
		d := directSchemaOf(rs)
		if d == nil {
			t.Errorf("%s: no direct check for its schema", tool.Name)
			continue
		}
		accepted, valid := 0, 0
		for range 5000 {
			args := map[string]any{}
			for _, k := range append(tool.argNames(), "extra") {
				if k == "extra" && r.IntN(10) > 0 || r.IntN(4) == 0 {
					continue
				}
				args[k] = value(r, k)
			}
			err := rs.Validate(args)
			if err == nil {
				valid++
			}
			if d.accepts(args) {
				accepted++
				if err != nil {
					t.Fatalf("%s: the direct check accepted %v, which the validator refuses: %v", tool.Name, args, err)
				}
			}
		}
		if accepted == 0 {
			t.Errorf("%s: the direct check accepted none of %d valid arguments", tool.Name, valid)
		}
		t.Logf("%s: of 5000 arguments, %d valid, %d of them accepted directly", tool.Name, valid, accepted)
	}

	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"files_write", map[string]any{"path": "w.txt", "mode": "overwrite", "content": strings.Repeat("line\n", 800)}},
		{"files_edit", map[string]any{"path": "e.txt", "edits": []any{map[string]any{"old": "status: alpha", "new": "status: omega"}}}},
		{"files_read", map[string]any{"path": "r.txt", "offset": 0.0, "length": 10.0}},
	} {
		rs, err := e.Tool("default", c.tool).resolvedSchema()
		if err != nil {
			t.Fatal(err)
		}
		if d := directSchemaOf(rs); d == nil || !d.accepts(c.args) {
			t.Errorf("%s %v: not accepted directly", c.tool, c.args)
		}
	}
}

// A schema with a keyword the direct check does not know has no direct
// form: the validator checks every call.
func TestCompileDirectRefusesUnknownKeywords(t *testing.T) {
	for _, src := range []string{
		`{"type": "object", "properties": {"a": {"type": "string", "pattern": "^x"}}}`,
		`{"type": ["string", "null"]}`,
		`{"type": "object", "additionalProperties": {"type": "string"}}`,
		`{"enum": [1, 2]}`,
		`{"type": "object", "x-extension": true}`,
		`{"anyOf": [{"type": "string"}]}`,
		`{"type": "array", "items": {"not": {}}}`,
	} {
		var s jsonschema.Schema
		if err := s.UnmarshalJSON([]byte(src)); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if d, ok := compileDirect(&s); ok || d != nil {
			t.Errorf("compileDirect(%s) = %+v, %v; want no direct form", src, d, ok)
		}
	}
}
