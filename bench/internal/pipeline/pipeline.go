// Package pipeline starts Warden's engine for benchmarks, the way warden
// serve does: from a policy file in a temporary directory that also holds
// the state directory, so every call appends to a real audit log.
package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/warden-dev/warden/internal/connector/all" // every connector, as in the binary
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

// Engine writes policyYAML to a temporary directory, loads it and starts
// an engine on it, closed when tb ends.
func Engine(tb testing.TB, policyYAML string) *engine.Engine {
	tb.Helper()
	dir := tb.TempDir()
	path := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(path, []byte(policyYAML), 0o644); err != nil {
		tb.Fatal(err)
	}
	p, err := policy.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	if p.Settings().StateDir == "" {
		tb.Fatal("no state directory: the audit log would be off")
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}
