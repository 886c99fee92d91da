package connectortest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// RunAll runs [RunKind] for every kind compiled in. A test in the package
// that links all kinds calls it, so a new kind cannot skip the suite.
func RunAll(t *testing.T) {
	kinds := connector.Kinds()
	if len(kinds) == 0 {
		t.Fatal("no resource kinds are registered")
	}
	for _, k := range kinds {
		t.Run(k.Name, func(t *testing.T) { RunKind(t, k) })
	}
}

// RunKind checks that a kind describes itself completely, then runs the
// contract suite ([Run]) on the connector of its example resource,
// compiled from a policy as a user would write it.
func RunKind(t *testing.T, k *core.ResourceKind) {
	t.Helper()
	t.Run("Describe", func(t *testing.T) {
		for _, a := range k.ApprovalByDefault {
			if !slices.Contains(k.Actions, a) {
				t.Errorf("ApprovalByDefault action %q is not among the kind's actions %v", a, k.Actions)
			}
		}
		for a, implied := range k.Implied {
			for _, i := range append([]string{a}, implied...) {
				if !slices.Contains(k.Actions, i) {
					t.Errorf("Implied names %q, which is not among the kind's actions %v", i, k.Actions)
				}
			}
		}
		if k.Summary == "" || k.Describe == nil {
			t.Error("the kind has no Summary or no Describe: users and models would not know what a resource of it is")
		}
		if k.HostPaths == nil {
			t.Error("the kind has no HostPaths: its resources cannot be served under Landlock")
		}
		if (k.Rules.Sensitive == nil) != (k.Rules.NamesSensitive == nil) {
			t.Error("Rules.Sensitive and Rules.NamesSensitive come together")
		}
	})
	ex := k.Example
	if ex.Setup == nil {
		t.Fatalf("kind %q has no Example: every kind passes the contract suite through its example", k.Name)
	}
	Run(t, Contract{
		New: func(t *testing.T) core.Connector {
			spec := exampleSpec(t, k)
			c, err := k.New(spec, core.Host{})
			if err != nil {
				t.Fatalf("New(example %s) = %v", k.Name, err)
			}
			if o, ok := c.(core.Opener); ok {
				if err := o.Open(t.Context()); err != nil {
					t.Fatalf("Open(example %s) = %v", k.Name, err)
				}
			}
			return c
		},
		Valid:   ex.Valid,
		Missing: ex.Missing,
		Invalid: ex.Invalid,
	})
}

// exampleSpec sets up a kind's example in a temporary directory and
// compiles it into a policy with one agent holding the example's grant.
func exampleSpec(t *testing.T, k *core.ResourceKind) *core.ResourceSpec {
	t.Helper()
	dir := t.TempDir()
	block, release, err := k.Example.Setup(dir)
	if err != nil {
		t.Fatalf("setting up the example of kind %s: %v", k.Name, err)
	}
	t.Cleanup(release)
	src := fmt.Sprintf("version: 1\nresources:\n  example: %s\nagents:\n  a:\n    grants:\n      - %s\n", block, withResource(k.Example.Grant))
	p, err := policy.Compile([]byte(src), policy.WithSource("example.yaml"), policy.WithBaseDir(dir))
	if err != nil {
		t.Fatalf("the example of kind %s does not compile:\n%s\n%v", k.Name, src, err)
	}
	return p.Resource("example")
}

// withResource adds "resource: example" to a grant written as a flow
// mapping.
func withResource(grant string) string {
	if len(grant) < 3 || grant[0] != '{' {
		return "{resource: example}" // no grant, or an empty one
	}
	return "{resource: example, " + grant[1:]
}
