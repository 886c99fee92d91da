package connector_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
)

type stub struct{ name string }

func (stub) Operations() []core.Operation                    { return nil }
func (stub) Prepare(context.Context, *core.Invocation) error { return nil }
func (stub) Execute(context.Context, *core.Invocation, core.Scope) (*core.Result, error) {
	return nil, nil
}

// stubKind is a kind whose connectors are stubs; decode returns nothing.
func stubKind(name string) *core.ResourceKind {
	return &core.ResourceKind{
		Name:     name,
		Actions:  []string{"read"},
		Resource: core.ResourceSyntax{Decode: func(core.PolicyNode) any { return nil }},
		New: func(spec *core.ResourceSpec, _ core.Host) (core.Connector, error) {
			return stub{name: spec.Name}, nil
		},
	}
}

func TestNew_UnknownKind(t *testing.T) {
	_, err := connector.New(&core.ResourceSpec{Name: "db", Kind: "no-such-kind"}, core.Host{})
	if err == nil {
		t.Fatal(`New(kind "no-such-kind") = nil error, want one`)
	}
	const want = `no connector for kind "no-such-kind" in this build`
	if got := err.Error(); got != want {
		t.Errorf("New(kind \"no-such-kind\") error = %q, want %q", got, want)
	}
	if got := core.KindOf(err); got != core.KindInvalid {
		t.Errorf("KindOf(New error) = %v, want %v", got, core.KindInvalid)
	}
	if _, err := connector.New(nil, core.Host{}); err == nil {
		t.Error("New(nil) = nil error, want one")
	}
}

func TestRegisterForTest(t *testing.T) {
	const kind = "test-kind"
	t.Run("registered", func(t *testing.T) {
		connector.RegisterForTest(t, stubKind(kind))
		if !slices.Contains(connector.Names(), kind) || connector.Lookup(kind) == nil {
			t.Fatalf("Names() = %v, want it to contain %q", connector.Names(), kind)
		}
		c, err := connector.New(&core.ResourceSpec{Name: "x", Kind: kind}, core.Host{})
		if err != nil {
			t.Fatalf("New(%q) error: %v", kind, err)
		}
		if got := c.(stub).name; got != "x" {
			t.Errorf("New(%q) built %q, want %q", kind, got, "x")
		}
	})
	if slices.Contains(connector.Names(), "test-kind") {
		t.Errorf("after the subtest's cleanup Names() = %v, still contains %q", connector.Names(), kind)
	}
}

func TestRegisterForTest_RestoresPrevious(t *testing.T) {
	const kind = "test-kind-restore"
	connector.RegisterForTest(t, stubKind(kind))
	replacement := stubKind(kind)
	replacement.New = func(*core.ResourceSpec, core.Host) (core.Connector, error) { return nil, errors.New("replacement") }
	t.Run("inner", func(t *testing.T) {
		connector.RegisterForTest(t, replacement)
		if _, err := connector.New(&core.ResourceSpec{Kind: kind}, core.Host{}); err == nil || err.Error() != "replacement" {
			t.Errorf("New with the replacement kind error = %v, want %q", err, "replacement")
		}
	})
	if _, err := connector.New(&core.ResourceSpec{Kind: kind}, core.Host{}); err != nil {
		t.Errorf("New after inner cleanup error = %v, want the original kind back", err)
	}
}

func TestRegister_Panics(t *testing.T) {
	const kind = "test-kind-dup"
	connector.RegisterForTest(t, stubKind(kind))
	noNew := stubKind("test-kind-nonew")
	noNew.New = nil
	noActions := stubKind("test-kind-noactions")
	noActions.Actions = nil
	badRead := stubKind("test-kind-badread")
	badRead.ReadActions = []string{"write"}
	tests := []struct {
		name string
		kind *core.ResourceKind
	}{
		{"nil", nil},
		{"empty name", stubKind("")},
		{"upper-case name", stubKind("S3")},
		{"no New", noNew},
		{"no actions", noActions},
		{"read action not among the actions", badRead},
		{"duplicate", stubKind(kind)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%s) did not panic", tt.name)
				}
			}()
			connector.Register(tt.kind)
		})
	}
}

func TestKinds_Sorted(t *testing.T) {
	connector.RegisterForTest(t, stubKind("zz-test"))
	connector.RegisterForTest(t, stubKind("aa-test"))
	if got := connector.Names(); !slices.IsSorted(got) {
		t.Errorf("Names() = %v, want sorted", got)
	}
}
