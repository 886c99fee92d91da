package sqldb

import (
	"context"
	"fmt"

	"github.com/warden-dev/warden/internal/core"
)

// doctor connects to each database and compares what its login can do
// with what the grants need, as serve does at start.
func doctor(ctx context.Context, in core.DoctorInput) []core.Checkup {
	if len(in.Specs) == 0 {
		return nil
	}
	ck := core.Checkup{Title: "database", Summary: "each statement is analysed, run read-only by the database, and its login should hold no more than the grants need"}
	line := func(format string, args ...any) {
		ck.Lines = append(ck.Lines, core.CheckLine{Text: fmt.Sprintf(format, args...)})
	}
	problem := func(format string, args ...any) {
		ck.Lines = append(ck.Lines, core.CheckLine{Text: fmt.Sprintf(format, args...), Problem: true})
	}
	for _, spec := range in.Specs {
		checkDatabase(ctx, in, spec, line, problem)
	}
	return []core.Checkup{ck}
}

func checkDatabase(ctx context.Context, in core.DoctorInput, spec *core.ResourceSpec, line, problem func(string, ...any)) {
	cfg, err := configOf(spec)
	if err != nil {
		problem("%s: %v", spec.Name, err)
		return
	}
	c, err := New(spec, in.Host)
	if err == nil {
		err = c.Open(ctx)
	}
	if err != nil {
		// The operator's cause: err.Error() never holds the model's
		// sentence nor the DSN.
		problem("%s (%s): %v", spec.Name, cfg.Driver, err)
		return
	}
	defer c.Close()
	line("%s (%s): connects", spec.Name, cfg.Driver)
	rep, err := c.CheckPrivileges(ctx, func(action, target string) bool {
		return in.Needed != nil && in.Needed(spec.Name, action, target)
	})
	switch {
	case err != nil:
		problem("%s: the login's privileges cannot be checked: %v", spec.Name, err)
	case len(rep.Findings) == 0 && cfg.Driver != "sqlite":
		line("%s: the login can do no more than the grants need", spec.Name)
	}
	for _, f := range rep.Findings {
		if rep.Strict != "" {
			problem("%s: %s (%s: serve refuses to start)", spec.Name, f, rep.Strict)
		} else {
			line("%s: warning: %s; see %s", spec.Name, f, rep.Fix)
		}
	}
}
