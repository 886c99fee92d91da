package all_test

import (
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
)

// TestContract runs the contract suite on every kind of the build.
func TestContract(t *testing.T) { connectortest.RunAll(t) }
