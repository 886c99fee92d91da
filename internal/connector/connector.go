// Package connector is the registry of resource kinds compiled into Warden.
//
// Each kind is one package under internal/connector (such as
// [github.com/warden-dev/warden/internal/connector/fs]) that registers a
// [core.ResourceKind] from init:
//
//	func init() { connector.Register(Kind) }
//
// Package [github.com/warden-dev/warden/internal/connector/all] imports
// every kind of the build, so the compiled-in set is one greppable file.
// The policy, the engine, the MCP server and the CLI find kinds here, by
// name, and never import a kind's package.
//
// The registry is safe for concurrent use.
package connector

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

var (
	mu    sync.RWMutex
	kinds = map[string]*core.ResourceKind{}
)

// Register makes a kind available. It is meant to be called from init. It
// panics if the kind is incomplete or its name is already registered.
func Register(k *core.ResourceKind) {
	if err := check(k); err != nil {
		panic("connector: Register: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic(fmt.Sprintf("connector: kind %q is already registered", k.Name))
	}
	kinds[k.Name] = k
}

// check refuses a kind the rest of Warden could not use.
func check(k *core.ResourceKind) error {
	switch {
	case k == nil:
		return fmt.Errorf("nil kind")
	case k.Name == "" || strings.ToLower(k.Name) != k.Name:
		return fmt.Errorf("kind name %q must be lower-case and not empty", k.Name)
	case len(k.Actions) == 0:
		return fmt.Errorf("kind %q has no actions", k.Name)
	case k.New == nil:
		return fmt.Errorf("kind %q has no New", k.Name)
	case k.Resource.Decode == nil:
		return fmt.Errorf("kind %q has no Resource.Decode", k.Name)
	}
	for _, a := range k.ReadActions {
		if !slices.Contains(k.Actions, a) {
			return fmt.Errorf("kind %q: read action %q is not among its actions", k.Name, a)
		}
	}
	return nil
}

// RegisterForTest registers k for the duration of a test, replacing any
// kind of the same name. The previous state is restored through
// tb.Cleanup. Tests that use it must not run in parallel with tests that
// depend on the same kind.
func RegisterForTest(tb testing.TB, k *core.ResourceKind) {
	tb.Helper()
	if err := check(k); err != nil {
		tb.Fatalf("connector.RegisterForTest: %v", err)
	}
	mu.Lock()
	old, had := kinds[k.Name]
	kinds[k.Name] = k
	mu.Unlock()
	tb.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if had {
			kinds[k.Name] = old
		} else {
			delete(kinds, k.Name)
		}
	})
}

// Lookup returns the kind called name, or nil when none is compiled in.
func Lookup(name string) *core.ResourceKind {
	mu.RLock()
	defer mu.RUnlock()
	return kinds[name]
}

// Kinds returns the registered kinds, sorted by name.
func Kinds() []*core.ResourceKind {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]*core.ResourceKind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b *core.ResourceKind) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Names returns the registered kinds' names, sorted.
func Names() []string {
	var out []string
	for _, k := range Kinds() {
		out = append(out, k.Name)
	}
	return out
}

// New constructs the connector for spec with its kind's New. It fails
// with a [core.KindInvalid] error when no such kind is compiled in.
func New(spec *core.ResourceSpec, host core.Host) (core.Connector, error) {
	const op = "connector"
	if spec == nil {
		return nil, core.E(op, core.KindInvalid, "", "no resource given", nil)
	}
	k := Lookup(spec.Kind)
	if k == nil {
		return nil, core.Errorf(op, core.KindInvalid, "", "no connector for kind %q in this build", spec.Kind)
	}
	return k.New(spec, host)
}

// Constructor adapts a kind's own constructor to [core.ResourceKind.New],
// so that a nil *Connector returned with an error never becomes a non-nil
// core.Connector.
func Constructor[C core.Connector](newConn func(*core.ResourceSpec, core.Host) (C, error)) func(*core.ResourceSpec, core.Host) (core.Connector, error) {
	return func(spec *core.ResourceSpec, host core.Host) (core.Connector, error) {
		c, err := newConn(spec, host)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}
