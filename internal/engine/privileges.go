package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// checkPrivileges compares what a resource's login can do with what the
// policy's grants need. Excess is logged as a warning, or refuses the start
// when the resource says strict_credentials: true; so does a check that
// cannot be made.
func (e *Engine) checkPrivileges(ctx context.Context, spec *core.ResourceSpec, c core.Connector) error {
	pc, ok := c.(core.PrivilegeChecker)
	if !ok {
		return nil
	}
	strict := spec.SQL != nil && spec.SQL.StrictCredentials
	findings, err := pc.CheckPrivileges(ctx, func(action, target string) bool {
		return e.policy.Covered(ctx, spec.Name, action, target)
	})
	if err != nil {
		if strict {
			return errors.New("strict_credentials: the login's privileges cannot be checked: " + core.MessageOf(err))
		}
		e.log.Warn("the database login's privileges could not be checked", "resource", spec.Name, "err", err)
		return nil
	}
	if len(findings) == 0 {
		e.log.Info("the database login can do no more than the grants need", "resource", spec.Name)
		return nil
	}
	if strict {
		return errors.New("strict_credentials: the login can do more than the grants need: " + strings.Join(findings, "; ") +
			` (run "warden sql grants --resource ` + spec.Name + `" for a minimal role)`)
	}
	for _, f := range findings {
		e.log.Warn("the database login can do more than the grants need", "resource", spec.Name, "finding", f,
			"fix", "warden sql grants --resource "+spec.Name)
	}
	return nil
}
