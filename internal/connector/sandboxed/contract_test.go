package sandboxed_test

import (
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/connector/sandboxed"
)

func TestContract(t *testing.T) {
	needSandbox(t)
	connectortest.RunKind(t, sandboxed.Kind)
}
