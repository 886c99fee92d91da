package httpapi

import (
	"encoding/json"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/core"
)

func TestContract(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	connectortest.Run(t, connectortest.Contract{
		New:   func(t *testing.T) core.Connector { return newConn(t, spec(up.URL+"/v1/", nil)) },
		Valid: core.Invocation{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"items/1"}`)},
		// The example's refusals (the shared suite runs them too), here
		// against a server that counts what reaches it.
		Invalid: example.Invalid,
	})
}

// TestKindContract runs the contract suite on the kind's example, compiled
// from a policy as a user would write it.
func TestKindContract(t *testing.T) { connectortest.RunKind(t, Kind) }
