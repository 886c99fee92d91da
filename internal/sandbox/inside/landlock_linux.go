package inside

import (
	"fmt"
	"syscall"
)

// restrict enforces the parent's ruleset on this thread, adding the
// sandbox's own /proc (read), /tmp and overlays (write), which only exist
// in here.
// Were the root not built, those names would be the host's: then they are
// left out.
func restrict(spec *Spec) error {
	if spec.Namespaces {
		rules := []struct {
			path   string
			access uint64
		}{{"/proc", spec.LandlockRead}, {"/tmp", spec.LandlockWrite}}
		// An overlay's inodes are not the host's the parent's rules name.
		for _, m := range spec.Mounts {
			if m.Scratch != "" {
				rules = append(rules, struct {
					path   string
					access uint64
				}{m.Path, spec.LandlockWrite})
			}
		}
		for _, r := range rules {
			fd, err := syscall.Open(r.path, oPath|syscall.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open %s: %w", r.path, err)
			}
			err = landlockAllow(RulesetFD, fd, r.access)
			syscall.Close(fd)
			if err != nil {
				return fmt.Errorf("allow %s: %w", r.path, err)
			}
		}
	}
	if err := landlockRestrictSelf(RulesetFD); err != nil {
		return fmt.Errorf("restrict: %w", err)
	}
	return syscall.Close(RulesetFD)
}
