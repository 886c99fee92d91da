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
	d.kinds(e, p)
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

// kinds adds what each resource kind checks of its resources (roots
// open, databases connect and their logins hold no more than needed,
// API hosts resolve to addresses Warden connects to).
func (d *doctor) kinds(e *env, p *policy.Policy) {
	for _, kind := range connector.Kinds() {
		var specs []*core.ResourceSpec
		for _, spec := range p.Resources() {
			if spec.Kind == kind.Name {
				specs = append(specs, spec)
			}
		}
		if len(specs) == 0 || kind.Doctor == nil {
			continue
		}
		in := core.DoctorInput{
			Specs:    specs,
			Host:     core.Host{Secrets: p.Secrets()},
			StateDir: p.Settings().StateDir,
			Writable: func(resource string) bool { return writable(p, p.Resource(resource)) },
			Needed: func(resource, action, target string) bool {
				return p.Covered(e.ctx, resource, action, target)
			},
		}
		for _, c := range kind.Doctor(e.ctx, in) {
			d.block(c.Title, "%s", c.Summary)
			for _, l := range c.Lines {
				if l.Problem {
					d.problem("%s", l.Text)
				} else {
					d.line("%s", l.Text)
				}
			}
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
