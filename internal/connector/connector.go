// Package connector is the registry of connector kinds compiled into Warden.
//
// Each connector package (such as [github.com/warden-dev/warden/internal/connector/fs])
// registers a [Factory] for its kind from init:
//
//	func init() { connector.Register(core.KindFS, New) }
//
// Package [github.com/warden-dev/warden/internal/connector/all] imports
// every connector of the build, so the compiled-in set is one greppable
// file. Callers construct connectors with [New], which has no side effects:
// the returned connector acquires resources only in Open (see
// [core.Connector] for the lifecycle).
//
// The registry is safe for concurrent use.
package connector

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// Factory constructs a connector for one resource. It must only store and
// check configuration: opening files, dialling or resolving names belongs in
// [core.Opener.Open].
type Factory func(spec *core.ResourceSpec) (core.Connector, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a connector kind available to [New]. It is meant to be
// called from init. It panics if kind is empty, f is nil, or kind is
// already registered.
func Register(kind string, f Factory) {
	if kind == "" {
		panic("connector: Register with an empty kind")
	}
	if f == nil {
		panic(fmt.Sprintf("connector: Register(%q) with a nil factory", kind))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[kind]; dup {
		panic(fmt.Sprintf("connector: kind %q is already registered", kind))
	}
	factories[kind] = f
}

// RegisterForTest registers f for kind for the duration of a test,
// replacing any factory already registered for kind. The previous state is
// restored through tb.Cleanup. Tests that use it must not run in parallel
// with tests that depend on the same kind.
func RegisterForTest(tb testing.TB, kind string, f Factory) {
	tb.Helper()
	if kind == "" || f == nil {
		tb.Fatalf("connector.RegisterForTest(%q): empty kind or nil factory", kind)
	}
	mu.Lock()
	old, had := factories[kind]
	factories[kind] = f
	mu.Unlock()
	tb.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if had {
			factories[kind] = old
		} else {
			delete(factories, kind)
		}
	})
}

// New constructs the connector for spec.Kind. It fails with a
// [core.KindInvalid] error when no connector of that kind is compiled in.
func New(spec *core.ResourceSpec) (core.Connector, error) {
	const op = "connector"
	if spec == nil {
		return nil, core.E(op, core.KindInvalid, "", "no resource given", nil)
	}
	mu.RLock()
	f, ok := factories[spec.Kind]
	mu.RUnlock()
	if !ok {
		return nil, core.Errorf(op, core.KindInvalid, "", "no connector for kind %q in this build", spec.Kind)
	}
	return f(spec)
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	return slices.Sorted(maps.Keys(factories))
}
