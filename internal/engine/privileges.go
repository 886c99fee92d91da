package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// checkPrivileges compares what a resource's login can do with what the
// policy's grants need. Excess is logged as a warning, or refuses the start
// when a setting of the resource makes it strict (report.Strict);
// so does a check that cannot be made.
func (e *Engine) checkPrivileges(ctx context.Context, spec *core.ResourceSpec, c core.Connector) error {
	pc, ok := c.(core.PrivilegeChecker)
	if !ok {
		return nil
	}
	report, err := pc.CheckPrivileges(ctx, func(action, target string) bool {
		return e.policy.Covered(ctx, spec.Name, action, target)
	})
	if err != nil {
		if report.Strict != "" {
			return fmt.Errorf("%s: the login's privileges cannot be checked: %w", report.Strict, err)
		}
		e.log.Warn("the login's privileges could not be checked", "resource", spec.Name, "err", err)
		return nil
	}
	if len(report.Findings) == 0 {
		e.log.Info("the login can do no more than the grants need", "resource", spec.Name)
		return nil
	}
	fix := ""
	if report.Fix != "" {
		fix = ` (run "` + report.Fix + `" for a minimal login)`
	}
	if report.Strict != "" {
		return errors.New(report.Strict + ": the login can do more than the grants need: " + strings.Join(report.Findings, "; ") + fix)
	}
	for _, f := range report.Findings {
		e.log.Warn("the login can do more than the grants need", "resource", spec.Name, "finding", f, "fix", report.Fix)
	}
	return nil
}
