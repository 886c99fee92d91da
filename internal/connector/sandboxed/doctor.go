package sandboxed

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// doctor reports the layers of the process sandbox this host provides, and
// for each exec resource what its programs see and whether the host
// sandboxes them as the resource requires.
func doctor(_ context.Context, in core.DoctorInput) []core.Checkup {
	if len(in.Specs) == 0 {
		return nil
	}
	ck := core.Checkup{
		Title:   "process sandbox",
		Summary: "each run has its own user, mount, pid, network, ipc and uts namespaces and a minimal root, a Landlock ruleset on the same paths, a seccomp filter and resource limits",
	}
	report := probe()
	if len(report.Missing) == 0 {
		ck.Line("this host provides every layer")
	} else {
		layers := make([]string, 0, len(report.Missing))
		for l := range report.Missing {
			layers = append(layers, l)
		}
		sort.Strings(layers)
		for _, l := range layers {
			ck.Line("this host lacks %s: %s", l, report.Missing[l])
		}
	}
	for _, spec := range in.Specs {
		cfg := config(spec)
		var progs []string
		for _, p := range cfg.Programs {
			progs = append(progs, p.Name+" ("+p.Path+")")
		}
		ck.Line("%s: programs %s; writable: %s; no network", spec.Name, strings.Join(progs, ", "), cfg.Workdir)
		for l := range report.Missing {
			switch {
			case slices.Contains(cfg.AllowDegraded, l):
				ck.Line("%s: runs without %s (allow_degraded)", spec.Name, l)
			default:
				ck.Problem("%s: cannot run here: the host lacks %s", spec.Name, l)
			}
		}
	}
	return []core.Checkup{ck}
}
