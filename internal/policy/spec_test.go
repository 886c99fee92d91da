package policy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/connector/httpapi"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/warden-dev/warden/internal/core"
)

// specFile is testdata/cases/<case>/tests.yaml: requests and the decisions
// the case's policy.yaml must give them.
type specFile struct {
	Env   map[string]string `yaml:"env"`
	Dirs  []string          `yaml:"dirs"`
	Tests []struct {
		Name    string `yaml:"name"`
		Request struct {
			Agent    string         `yaml:"agent"`
			Resource string         `yaml:"resource"`
			Action   string         `yaml:"action"`
			Tool     string         `yaml:"tool"`
			Path     string         `yaml:"path"`
			Paths    []string       `yaml:"paths"`
			Args     map[string]any `yaml:"args"`
			Time     string         `yaml:"time"`
			HTTP     *struct {
				Query     []string `yaml:"query"`
				Headers   []string `yaml:"headers"`
				BodyBytes int64    `yaml:"body_bytes"`
			} `yaml:"http"`
		} `yaml:"request"`
		Want struct {
			Effect  string   `yaml:"effect"`
			Rule    string   `yaml:"rule"`
			Reasons []string `yaml:"reasons"`
			Options *struct {
				Recursive bool `yaml:"recursive"`
				Hardlinks bool `yaml:"hardlinks"`
				MaxRows   int  `yaml:"max_rows"`
			} `yaml:"options"`
		} `yaml:"want"`
	} `yaml:"tests"`
}

// loadCase compiles testdata/cases/<name>/policy.yaml in a fresh directory
// holding the directories its tests.yaml lists.
func loadCase(t testing.TB, name string) (*Policy, *specFile) {
	t.Helper()
	dir := filepath.Join("testdata", "cases", name)
	raw, err := os.ReadFile(filepath.Join(dir, "tests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec specFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		t.Fatalf("%s/tests.yaml: %v", dir, err)
	}
	base := t.TempDir()
	for _, d := range spec.Dirs {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(src, WithSource(filepath.Join(dir, "policy.yaml")), WithBaseDir(base), WithLookupEnv(func(k string) (string, bool) {
		v, ok := spec.Env[k]
		return v, ok
	}))
	if err != nil {
		t.Fatalf("Compile(%s): %v", dir, err)
	}
	return p, &spec
}

func TestSpecs(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			p, spec := loadCase(t, c.Name())
			for _, tt := range spec.Tests {
				t.Run(tt.Name, func(t *testing.T) {
					r := tt.Request
					req := &core.Request{Agent: r.Agent, Resource: r.Resource, Action: r.Action, Tool: r.Tool, Path: r.Path, Paths: r.Paths, Args: r.Args}
					if h := r.HTTP; h != nil {
						req.Detail = &httpapi.Detail{Query: h.Query, Headers: h.Headers, BodyBytes: h.BodyBytes}
					}
					if r.Time != "" {
						tm, err := time.Parse(time.RFC3339, r.Time)
						if err != nil {
							t.Fatal(err)
						}
						req.Time = tm
					}
					got := p.Evaluate(context.Background(), req)
					type view struct {
						Effect  string
						Rule    string
						Reasons []string
					}
					gv := view{Effect: got.Effect.String(), Rule: got.Rule}
					for _, rs := range got.Reasons {
						gv.Reasons = append(gv.Reasons, string(rs))
					}
					wv := view{Effect: tt.Want.Effect, Rule: tt.Want.Rule, Reasons: tt.Want.Reasons}
					if diff := cmp.Diff(wv, gv); diff != "" {
						t.Errorf("Evaluate(%+v) mismatch (-want +got):\n%s", *req, diff)
					}
					if o := tt.Want.Options; o != nil && (o.Recursive != got.Options.Has("recursive") || o.Hardlinks != got.Options.Has("hardlinks") || int64(o.MaxRows) != got.Options.Cap("max_rows")) {
						t.Errorf("Evaluate(%+v) options = %+v, want %+v", *req, got.Options, *o)
					}
					// Explain must agree with Evaluate.
					if d, _ := p.Explain(context.Background(), req); d.Effect != got.Effect || d.Rule != got.Rule || !slices.Equal(d.Reasons, got.Reasons) {
						t.Errorf("Explain(%+v) = %v, Evaluate = %v", *req, d, got)
					}
				})
			}
		})
	}
}
