package cli

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

// writeActions are the actions that change a resource (fs and sql); a
// root or database any agent may change is confined read-write, every
// other one read-only.
var writeActions = []string{"write", "edit", "mkdir", "move", "delete", "execute", "ddl"}

// landlockOff is the setting an operator uses to run without Landlock.
const landlockOff = `"landlock: false" under settings in the policy`

// landlockPaths lists every path a process serving p needs once its engine
// is open: the fs roots, the state directory (audit log, approvals, rate
// limits, journal), the policy file, the files secrets are read from, and
// what the Go runtime, TLS and DNS read.
func landlockPaths(p *policy.Policy) ([]sandbox.Path, error) {
	var paths []sandbox.Path
	built := connector.Kinds()
	for _, spec := range p.Resources() {
		if !slices.Contains(built, spec.Kind) {
			continue // no connector in this build: the engine serves no tools for it
		}
		if spec.SQL != nil {
			paths = append(paths, sqlPaths(p, spec)...)
			continue
		}
		if spec.HTTP != nil {
			paths = append(paths, httpPaths(spec)...)
			continue
		}
		if spec.Kind != core.KindFS || spec.FS == nil {
			// Fail closed rather than guess what a connector opens later.
			return nil, fmt.Errorf("landlock: resource %q (kind %s): the paths it needs are not known; set %s to serve it", spec.Name, spec.Kind, landlockOff)
		}
		access, how := sandbox.Read, "read"
		if writable(p, spec.Name) {
			access, how = sandbox.Write, "write"
		}
		paths = append(paths, sandbox.Path{Path: spec.FS.Root, Access: access, Dir: true, Why: fmt.Sprintf("resource %s (%s)", spec.Name, how)})
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

// sqlPaths are what a sql resource opens: a SQLite file (its directory
// when some agent may write, for SQLite's journal beside it); nothing for
// a server, which is reached over the network (or a socket, whose
// connect Landlock does not govern).
func sqlPaths(p *policy.Policy, spec *core.ResourceSpec) []sandbox.Path {
	if spec.SQL.Driver != "sqlite" {
		return nil
	}
	file := spec.SQL.DSN.Reveal()
	if writable(p, spec.Name) {
		return []sandbox.Path{{Path: filepath.Dir(file), Access: sandbox.Write, Dir: true, Why: fmt.Sprintf("resource %s (the directory of its SQLite file, write)", spec.Name)}}
	}
	return []sandbox.Path{{Path: file, Why: fmt.Sprintf("resource %s (its SQLite file, read)", spec.Name)}}
}

// httpPaths are the files an http resource reads: its CA bundle and its
// OpenAPI document. The API itself is reached over the network, which
// netguard governs; TLS roots and DNS files are among the system paths.
func httpPaths(spec *core.ResourceSpec) []sandbox.Path {
	var out []sandbox.Path
	if f := spec.HTTP.CAFile; f != "" {
		out = append(out, sandbox.Path{Path: f, Why: fmt.Sprintf("resource %s (its CA file, read)", spec.Name)})
	}
	if f := spec.HTTP.OpenAPI; f != "" {
		out = append(out, sandbox.Path{Path: f, Why: fmt.Sprintf("resource %s (its OpenAPI document, read)", spec.Name)})
	}
	return out
}

// writable reports whether any agent holds a grant that changes the
// resource: its tree, or its database.
func writable(p *policy.Policy, resource string) bool {
	for _, a := range p.Agents() {
		for _, action := range p.Actions(a, resource) {
			if slices.Contains(writeActions, action) {
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
