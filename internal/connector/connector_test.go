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

func newStub(spec *core.ResourceSpec) (core.Connector, error) { return stub{name: spec.Name}, nil }

func TestNew_UnknownKind(t *testing.T) {
	_, err := connector.New(&core.ResourceSpec{Name: "db", Kind: "no-such-kind"})
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
	if _, err := connector.New(nil); err == nil {
		t.Error("New(nil) = nil error, want one")
	}
}

func TestRegisterForTest(t *testing.T) {
	const kind = "test-kind"
	t.Run("registered", func(t *testing.T) {
		connector.RegisterForTest(t, kind, newStub)
		if !slices.Contains(connector.Kinds(), kind) {
			t.Fatalf("Kinds() = %v, want it to contain %q", connector.Kinds(), kind)
		}
		c, err := connector.New(&core.ResourceSpec{Name: "x", Kind: kind})
		if err != nil {
			t.Fatalf("New(%q) error: %v", kind, err)
		}
		if got := c.(stub).name; got != "x" {
			t.Errorf("New(%q) built %q, want %q", kind, got, "x")
		}
	})
	if slices.Contains(connector.Kinds(), kind) {
		t.Errorf("after the subtest's cleanup Kinds() = %v, still contains %q", connector.Kinds(), kind)
	}
}

func TestRegisterForTest_RestoresPrevious(t *testing.T) {
	const kind = "test-kind-restore"
	connector.RegisterForTest(t, kind, newStub)
	replacement := func(*core.ResourceSpec) (core.Connector, error) { return nil, errors.New("replacement") }
	t.Run("inner", func(t *testing.T) {
		connector.RegisterForTest(t, kind, replacement)
		if _, err := connector.New(&core.ResourceSpec{Kind: kind}); err == nil || err.Error() != "replacement" {
			t.Errorf("New with replacement factory error = %v, want %q", err, "replacement")
		}
	})
	if _, err := connector.New(&core.ResourceSpec{Kind: kind}); err != nil {
		t.Errorf("New after inner cleanup error = %v, want the original factory back", err)
	}
}

func TestRegister_Panics(t *testing.T) {
	const kind = "test-kind-dup"
	connector.RegisterForTest(t, kind, newStub)
	tests := []struct {
		name string
		kind string
		f    connector.Factory
	}{
		{"empty kind", "", newStub},
		{"nil factory", "test-kind-nil", nil},
		{"duplicate", kind, newStub},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, …) did not panic", tt.kind)
				}
			}()
			connector.Register(tt.kind, tt.f)
		})
	}
}

func TestKinds_Sorted(t *testing.T) {
	connector.RegisterForTest(t, "zz-test", newStub)
	connector.RegisterForTest(t, "aa-test", newStub)
	got := connector.Kinds()
	if !slices.IsSorted(got) {
		t.Errorf("Kinds() = %v, want sorted", got)
	}
}
