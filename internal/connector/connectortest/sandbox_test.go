package connectortest_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
)

// TestSandboxed: inside the sandbox only the test's temporary directory is
// writable; the working directory (the package source) is not.
func TestSandboxed(t *testing.T) {
	if !connectortest.Sandboxed(t) {
		return
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "ok"), []byte("x"), 0o644); err != nil {
		t.Errorf("writing the temporary directory in the sandbox: %v", err)
	}
	wd, _ := os.Getwd()
	err := os.WriteFile(filepath.Join(wd, "sandbox-escape"), []byte("x"), 0o644)
	if err == nil {
		os.Remove(filepath.Join(wd, "sandbox-escape"))
	}
	if !errors.Is(err, syscall.EROFS) {
		t.Errorf("writing the source directory in the sandbox = %v, want EROFS", err)
	}
}
