package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

const doctorHelp = `Prints what each layer of defence does on this machine for the policy,
one block per layer: the policy, os.Root for each directory, each database
(does it connect, can its login do more than the grants need), Landlock, the
journal that undo uses, and the audit log with approvals and HTTP tokens.
It creates nothing and never prints a secret.

Exit codes: 0 every check passed, 1 a check found a problem (the policy does
not load, a root does not open, the audit chain does not verify, ...).`

func runDoctor(e *env, args []string) int {
	flags := newFlags(e, "doctor", "doctor [--policy FILE]", doctorHelp)
	var pf policyFlags
	pf.register(flags, false)
	if pos, err := parse(flags, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "doctor takes no arguments, got %q", pos)
	}
	d := &doctor{w: e.stdout}
	p, isDefault, err := pf.load(e, true)
	if err != nil {
		d.block("policy", "does not load")
		d.problem("%v", err)
		d.summary()
		return ExitToolFailed
	}
	d.policy(p, isDefault)
	d.roots(p)
	d.databases(e, p)
	d.apis(e, p)
	d.landlock(p)
	d.journal(p)
	d.audit(p)
	d.summary()
	if d.problems > 0 {
		return ExitToolFailed
	}
	return ExitOK
}

// doctor writes the report and counts the problems it found.
type doctor struct {
	w        io.Writer
	problems int
}

func (d *doctor) block(layer, format string, args ...any) {
	fmt.Fprintf(d.w, "%s: %s\n", layer, fmt.Sprintf(format, args...))
}

func (d *doctor) line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Fprintf(d.w, "  %s\n", strings.ReplaceAll(s, "\n", "\n    "))
}

func (d *doctor) problem(format string, args ...any) {
	d.problems++
	d.line("PROBLEM: "+format, args...)
}

func (d *doctor) summary() {
	if d.problems > 0 {
		fmt.Fprintf(d.w, "\n%d problem(s) found.\n", d.problems)
		return
	}
	fmt.Fprintln(d.w, "\nno problems found.")
}

func (d *doctor) policy(p *policy.Policy, isDefault bool) {
	if isDefault {
		d.block("policy", "none found; the zero-configuration policy applies (the current directory, read-only)")
	} else {
		src, _ := filepath.Abs(p.Source())
		d.block("policy", "%s loads", src)
	}
	agents := p.Agents()
	d.line("agents: %s", strings.Join(agents, ", "))
	var res []string
	for _, r := range p.Resources() {
		res = append(res, fmt.Sprintf("%s (%s)", r.Name, r.Kind))
	}
	d.line("resources: %s", strings.Join(res, ", "))
	grants, denies := 0, 0
	for _, a := range agents {
		grants += len(p.Grants(a, ""))
		denies += len(p.Denies(a, ""))
	}
	d.line("grants: %d, deny rules: %d", grants, denies)
	for _, w := range p.Warnings() {
		d.line("warning: %v", w)
	}
}

func (d *doctor) roots(p *policy.Policy) {
	d.block("os.Root", "every file call resolves beneath its resource's root; symlinks and .. cannot leave it")
	n := 0
	for _, spec := range p.Resources() {
		if spec.FS == nil {
			continue
		}
		n++
		root, err := os.OpenRoot(spec.FS.Root)
		if err != nil {
			// In the words serve and call use for a root that does not open.
			d.problem("%s: cannot open the root directory %s: %v", spec.Name, spec.FS.Root, errors.Unwrap(err))
			continue
		}
		root.Close()
		d.line("%s: %s opens", spec.Name, spec.FS.Root)
		d.rootReach(p, spec)
	}
	if n == 0 {
		d.line("no fs resources")
	}
}

// rootReach warns about a root that holds the user's home directory or the
// state directory's parent: the state directory and the policy are refused
// through every resource, but whatever else lies beside them (dotfiles,
// other projects, keys the secret-file patterns do not know) is reachable
// by any grant that covers it.
func (d *doctor) rootReach(p *policy.Policy, spec *core.ResourceSpec) {
	root := resolved(spec.FS.Root)
	if home, err := os.UserHomeDir(); err == nil && home != "" && within(resolved(home), root) {
		d.line("%s: warning: the root contains your home directory %s; point root at the project directory the agent needs", spec.Name, home)
	}
	if parent := filepath.Dir(p.Settings().StateDir); within(resolved(parent), root) {
		d.line("%s: warning: the root contains %s, where the state directory lives; only the state directory and the policy are refused in it, so keep the policy's secret files and other projects elsewhere or point root at a subdirectory", spec.Name, parent)
	}
}

// resolved returns path with symlinks resolved where it exists.
func resolved(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return filepath.Clean(path)
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// databases connects to each sql resource and compares what its login can
// do with what the grants need, as serve does at start.
func (d *doctor) databases(e *env, p *policy.Policy) {
	var specs []*core.ResourceSpec
	for _, spec := range p.Resources() {
		if spec.SQL != nil {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return
	}
	d.block("database", "each statement is analysed, run read-only by the database, and its login should hold no more than the grants need")
	for _, spec := range specs {
		c, err := connector.New(spec)
		if err == nil {
			if o, ok := c.(core.Opener); ok {
				err = o.Open(e.ctx)
			}
		}
		if err != nil {
			// The operator's cause, as serve and call report it.
			d.problem("%s (%s): %v", spec.Name, spec.SQL.Driver, err)
			continue
		}
		d.line("%s (%s): connects", spec.Name, spec.SQL.Driver)
		if pc, ok := c.(core.PrivilegeChecker); ok {
			findings, err := pc.CheckPrivileges(e.ctx, func(action, target string) bool {
				return p.Covered(e.ctx, spec.Name, action, target)
			})
			switch {
			case err != nil:
				d.problem("%s: the login's privileges cannot be checked: %s", spec.Name, core.MessageOf(err))
			case len(findings) == 0 && spec.SQL.Driver != "sqlite":
				d.line("%s: the login can do no more than the grants need", spec.Name)
			}
			for _, f := range findings {
				if spec.SQL.StrictCredentials {
					d.problem("%s: %s (strict_credentials: serve refuses to start)", spec.Name, f)
				} else {
					d.line("%s: warning: %s; see warden sql grants --resource %s", spec.Name, f, spec.Name)
				}
			}
		}
		if cl, ok := c.(io.Closer); ok {
			cl.Close()
		}
	}
}

func (d *doctor) landlock(p *policy.Policy) {
	probe := sandbox.Probe()
	kernel := fmt.Sprintf("supported by this kernel (ABI %d)", probe.ABI)
	if !probe.Supported {
		kernel = "not supported by this kernel"
		if len(probe.Notes) > 0 {
			kernel += " (" + strings.Join(probe.Notes, "; ") + ")"
		}
	}
	if !p.Settings().Landlock {
		d.block("landlock", "%s; disabled by policy setting landlock: false, so serve and call run with policy and os.Root only", kernel)
		return
	}
	if !probe.Supported {
		d.block("landlock", "%s; serve and call run with policy and os.Root only", kernel)
	} else {
		d.block("landlock", "%s; enabled: serve and call restrict themselves to these paths", kernel)
	}
	paths, err := landlockPaths(p)
	if err != nil {
		d.problem("%v", err)
		return
	}
	plan, err := sandbox.Plan(paths)
	if err != nil {
		d.problem("%v", err)
		return
	}
	shown, notes := plan.Paths, plan.Notes
	// serve creates the state directory before it confines itself.
	state := p.Settings().StateDir
	if _, err := os.Stat(state); errors.Is(err, fs.ErrNotExist) {
		i := 0
		for i < len(shown) && strings.HasPrefix(shown[i].Why, "resource ") {
			i++
		}
		shown = slices.Insert(slices.Clone(shown), i, sandbox.Path{Path: state, Access: sandbox.Write, Dir: true, Why: "state directory, created at start"})
		notes = slices.DeleteFunc(slices.Clone(notes), func(n string) bool { return strings.HasPrefix(n, "skipped missing "+state+" ") })
	}
	for _, path := range shown {
		d.line("%s", path)
	}
	for _, n := range notes {
		if !slices.Contains(probe.Notes, n) { // already in the first line
			d.line("note: %s", n)
		}
	}
}

func (d *doctor) journal(p *policy.Policy) {
	s := p.Settings()
	d.block("journal", "kept in the state directory %s (max_bytes %s, max_age %s)", s.StateDir, sizeText(s.JournalMaxBytes), s.JournalMaxAge)
	n := 0
	for _, spec := range p.Resources() {
		if spec.FS == nil {
			continue
		}
		n++
		if !writable(p, spec.Name) {
			d.line("%s: read-only, nothing to journal", spec.Name)
			continue
		}
		same, err := sandbox.SameFileSystem(spec.FS.Root, s.StateDir)
		switch {
		case err != nil:
			d.line("%s: whether it shares a file system with the state directory is unknown (%v)", spec.Name, err)
		case same:
			d.line("%s: same file system as the state directory, so undo keeps hard links to replaced files over 64 KiB (smaller ones are copied into the journal)", spec.Name)
		default:
			d.line("%s: another file system than the state directory, so undo keeps copies", spec.Name)
		}
	}
	if n == 0 {
		d.line("no fs resources")
	}
}

func (d *doctor) audit(p *policy.Policy) {
	s := p.Settings()
	d.block("audit", "%s", filepath.Join(s.StateDir, audit.LogFile))
	key := s.AuditKey.Reveal()
	switch _, err := os.Stat(filepath.Join(s.StateDir, audit.LogFile)); {
	case errors.Is(err, fs.ErrNotExist):
		d.line("chain: no records yet")
	case err != nil:
		d.problem("chain: %v", err)
	default:
		rep, err := audit.Verify(s.StateDir, audit.VerifyOptions{Key: []byte(key)})
		switch {
		case err != nil:
			d.problem("chain: %v", err)
		case !rep.OK:
			d.problem("chain: %s", rep)
		default:
			d.line("chain: verifies, %d record(s), last seq %d", rep.Records, rep.LastSeq)
		}
	}
	if key != "" {
		d.line("key: HMAC-SHA-256 with %s", s.AuditKey.Ref())
	} else {
		d.line(`key: none (plain SHA-256 chain; keep "warden audit head" output elsewhere as an anchor)`)
	}
	sync := s.AuditSync
	if sync == "" {
		sync = "interval"
	}
	d.line("sync: %s", sync)
	d.approvals(s)
	var tokens []string
	for _, a := range p.Agents() {
		t := p.AgentToken(a)
		ref := "none"
		if !t.IsZero() {
			ref = t.Ref()
		}
		tokens = append(tokens, a+" "+ref)
	}
	d.line("http tokens: %s", strings.Join(tokens, ", "))
}

func (d *doctor) approvals(s policy.Settings) {
	dir := filepath.Join(s.StateDir, "approvals")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		d.line("approvals: %s, none yet (ttl %s)", dir, s.ApprovalTTL)
		return
	}
	var key []byte
	if k := s.AuditKey.Reveal(); k != "" {
		key = []byte(k) // so a forged or edited approval is reported
	}
	store, err := approval.Open(s.StateDir, approval.Options{TTL: s.ApprovalTTL, Key: key})
	if err != nil {
		d.problem("approvals: %v", err)
		return
	}
	pending, err := store.List(approval.ListFilter{Status: []approval.Status{approval.StatusPending}})
	if err != nil && pending == nil {
		d.problem("approvals: %v", err)
		return
	}
	d.line("approvals: %s, %d pending (ttl %s)", dir, len(pending), s.ApprovalTTL)
	if err != nil {
		d.problem("approvals: %v", err)
	}
}

// sizeText prints a byte count the way policies write it.
func sizeText(n int64) string {
	for _, u := range []struct {
		unit string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d%s", n/u.size, u.unit)
		}
	}
	return fmt.Sprintf("%dB", n)
}
