package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

// landlockOff is the setting an operator uses to run without Landlock.
const landlockOff = `"landlock: false" under settings in the policy`

// sandboxPath is a path a kind says its resource needs, as the sandbox
// takes it, with why it is there.
func sandboxPath(hp core.HostPath, why string) sandbox.Path {
	access := sandbox.Read
	if hp.Write {
		access = sandbox.Write
	}
	return sandbox.Path{Path: hp.Path, Access: access, Dir: hp.Dir, Why: why}
}

// landlockPaths lists every path a process serving p needs once its engine
// is open: what each resource's kind says its connector opens (a root, a
// SQLite file, a CA bundle), the state directory (audit log, approvals,
// rate limits, journal), the policy file, the files secrets are read from,
// and what the Go runtime, TLS and DNS read.
func landlockPaths(p *policy.Policy) ([]sandbox.Path, error) {
	var paths []sandbox.Path
	for _, spec := range p.Resources() {
		kind := connector.Lookup(spec.Kind)
		if kind == nil {
			continue // no connector in this build: the engine serves no tools for it
		}
		if kind.HostPaths == nil {
			// Fail closed rather than guess what a connector opens later.
			return nil, fmt.Errorf("landlock: resource %q (kind %s): the paths it needs are not known; set %s to serve it", spec.Name, spec.Kind, landlockOff)
		}
		for _, hp := range kind.HostPaths(spec, writable(p, spec)) {
			paths = append(paths, sandboxPath(hp, hp.Why))
		}
	}
	paths = append(paths, sandbox.Path{Path: p.Settings().StateDir, Access: sandbox.Write, Dir: true, Why: "state directory"})
	// The zero-configuration policy has no file.
	if src, err := filepath.Abs(p.Source()); err == nil && isRegular(src) {
		paths = append(paths, sandbox.Path{Path: src, Why: "policy file"})
	}
	for _, f := range p.SecretFiles() {
		paths = append(paths, sandbox.Path{Path: f, Why: "secret file"})
	}
	return append(paths, sandbox.SystemPaths()...), nil
}

// writable reports whether any agent holds a grant that changes the
// resource: an action its kind does not list as read-only.
func writable(p *policy.Policy, spec *core.ResourceSpec) bool {
	kind := connector.Lookup(spec.Kind)
	for _, a := range p.Agents() {
		for _, action := range p.Actions(a, spec.Name) {
			if kind == nil || kind.Writes(action) {
				return true
			}
		}
	}
	return false
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// confine applies the policy's landlock setting to this whole process. Call
// it once the engine is open, since afterwards only landlockPaths remain
// reachable. An error means the process must stop.
func confine(p *policy.Policy) (sandbox.Report, error) {
	if !p.Settings().Landlock {
		r := sandbox.Probe()
		r.Mode = sandbox.ModeDisabled
		return r, nil
	}
	paths, err := landlockPaths(p)
	if err != nil {
		return sandbox.Report{}, err
	}
	r, err := sandbox.Restrict(paths)
	if err != nil {
		return r, fmt.Errorf("%w (to run without Landlock, set %s)", err, landlockOff)
	}
	return r, nil
}

// logConfinement reports at start what Landlock does for this process.
func logConfinement(logger *slog.Logger, r sandbox.Report) {
	for _, p := range r.Paths {
		logger.Debug("landlock path", "access", p.Access.String(), "path", p.Path, "why", p.Why)
	}
	switch r.Mode {
	case sandbox.ModeEnforced:
		logger.Info(r.String())
	case sandbox.ModeDisabled:
		logger.Warn("landlock disabled by policy setting landlock: false; running with policy and os.Root only")
	default:
		logger.Warn(r.String() + "; running with policy and os.Root only")
	}
}
