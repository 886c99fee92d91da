//go:build linux && !amd64

package sandbox

import (
	"syscall"

	"github.com/warden-dev/warden/internal/sandbox/seccompfilter"
)

// assembleFilter assembles the filter at run time on architectures without
// a generated table.
func assembleFilter() ([]syscall.SockFilter, error) {
	r := SeccompRules()
	return seccompfilter.Assemble(r.Denied, r.CloneFlags, r.DeniedIoctls, r.Unimplemented)
}
