package sqldb

import (
	"context"

	"github.com/warden-dev/warden/internal/core"
)

// doctor connects to each database and compares what its login can do
// with what the grants need, as serve does at start.
func doctor(ctx context.Context, in core.DoctorInput) []core.Checkup {
	if len(in.Specs) == 0 {
		return nil
	}
	ck := core.Checkup{Title: "database", Summary: "each statement is analysed, run read-only by the database, and its login should hold no more than the grants need"}
	for _, spec := range in.Specs {
		checkDatabase(ctx, in, spec, &ck)
	}
	return []core.Checkup{ck}
}

func checkDatabase(ctx context.Context, in core.DoctorInput, spec *core.ResourceSpec, ck *core.Checkup) {
	cfg, err := configOf(spec)
	if err != nil {
		ck.Problem("%s: %v", spec.Name, err)
		return
	}
	c, err := New(spec, in.Host)
	if err == nil {
		err = c.Open(ctx)
	}
	if err != nil {
		// The operator's cause: err.Error() never holds the model's
		// sentence nor the DSN.
		ck.Problem("%s (%s): %v", spec.Name, cfg.Driver, err)
		return
	}
	defer c.Close()
	ck.Line("%s (%s): connects", spec.Name, cfg.Driver)
	rep, err := c.CheckPrivileges(ctx, func(action, target string) bool {
		return in.Needed != nil && in.Needed(spec.Name, action, target)
	})
	switch {
	case err != nil:
		ck.Problem("%s: the login's privileges cannot be checked: %v", spec.Name, err)
	case len(rep.Findings) == 0 && cfg.Driver != "sqlite":
		ck.Line("%s: the login can do no more than the grants need", spec.Name)
	}
	for _, f := range rep.Findings {
		if rep.Strict != "" {
			ck.Problem("%s: %s (%s: serve refuses to start)", spec.Name, f, rep.Strict)
		} else {
			ck.Line("%s: warning: %s; see %s", spec.Name, f, rep.Fix)
		}
	}
}
