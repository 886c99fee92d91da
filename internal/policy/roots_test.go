package policy

import (
	"strings"
	"testing"
)

// TestDefaultRefusesSlash: the zero-configuration policy started in / would
// serve the whole system read-only.
func TestDefaultRefusesSlash(t *testing.T) {
	for _, dir := range []string{"/", "/tmp", "/etc/.."} {
		_, err := Default(dir)
		if err == nil || !strings.Contains(err.Error(), "would expose the whole system") || strings.Contains(err.Error(), "allow_broad_root") {
			t.Errorf("Default(%s) = %v, want the broad root refused with advice a user without a policy file can follow", dir, err)
		}
	}
}
