package sandbox

import (
	"reflect"
	"testing"

	"github.com/warden-dev/warden/internal/sandbox/seccompfilter"
)

// TestGeneratedFilter: the table the amd64 build carries is what the
// library assembles from SeccompRules today.
func TestGeneratedFilter(t *testing.T) {
	r := SeccompRules()
	want, err := seccompfilter.Assemble(r.Denied, r.CloneFlags, r.DeniedIoctls, r.Unimplemented)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(generatedFilter, want) {
		t.Fatal("filter_linux_amd64.go is out of date with SeccompRules: run go generate ./internal/sandbox")
	}
}
