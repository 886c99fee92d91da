package all_test

import (
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/connector"
	_ "github.com/warden-dev/warden/internal/connector/all"
	"github.com/warden-dev/warden/internal/core"
)

func TestKinds(t *testing.T) {
	for _, kind := range []string{core.KindFS, core.KindSQL} {
		if !slices.Contains(connector.Kinds(), kind) {
			t.Errorf("Kinds() = %v, want it to contain %q", connector.Kinds(), kind)
		}
	}
}

func TestNew_NoSideEffects(t *testing.T) {
	// The root does not exist: construction must still succeed, because
	// New only stores configuration and Open is where the root is opened.
	spec := &core.ResourceSpec{Name: "notes", Kind: core.KindFS, FS: &core.FSSpec{Root: "/nonexistent/warden-test-root"}}
	if _, err := connector.New(spec); err != nil {
		t.Errorf("New(%q) error: %v, want nil (New must not touch the file system)", spec.FS.Root, err)
	}
}
