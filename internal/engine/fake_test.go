package engine

import (
	"testing"

	"github.com/warden-dev/warden/internal/connector"
	_ "github.com/warden-dev/warden/internal/connector/all"
	"github.com/warden-dev/warden/internal/core"
)

// registerFake replaces the connector of a compiled-in kind with c for
// the test: the policy syntax stays the kind's own, the calls reach c.
func registerFake(t *testing.T, kind string, c core.Connector) {
	t.Helper()
	real := connector.Lookup(kind)
	if real == nil {
		t.Fatalf("no kind %q in this build", kind)
	}
	k := *real
	k.New = func(*core.ResourceSpec, core.Host) (core.Connector, error) { return c, nil }
	connector.RegisterForTest(t, &k)
}
