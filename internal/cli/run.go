package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	osexec "os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/egress"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
	"github.com/warden-dev/warden/internal/sandbox/inside"
)

const runHelp = `Runs an existing agent (a script, a coding-agent CLI) inside Warden's
sandbox, confined to what the policy grants the agent:

  disk     each fs resource the agent holds a grant on is visible at its
           own path, read-only, or writable where a grant there writes;
           the system directories read-only; a private /tmp; nothing else
  network  with http grants, only Warden's egress proxy, named by
           HTTP_PROXY and HTTPS_PROXY: each request is checked by the
           policy and audited; without them, no network at all

The program is found on PATH and must lie in a system directory or a
granted one. It runs in the current directory when that is granted, else
in /tmp. Its stdin, stdout and stderr are this terminal's; the exit code
is the program's. SIGINT and SIGTERM are passed on; a second one, or ten
seconds without an end, kills the sandbox. It gets only PATH, HOME=/tmp,
LANG, LC_ALL, TERM and TZ from this environment, and the variables --env
names.

The policy may let the agent run where the host lacks a layer:
  agents: {NAME: {sandbox: {allow_degraded: [landlock, seccomp]}}}
Namespaces are never optional.`

// runEnv are the variables a sandboxed agent gets from Warden's
// environment without being named; PATH and HOME are set apart.
var runEnv = []string{"LANG", "LC_ALL", "TERM", "TZ"}

// runGrace is how long a program may take to end after the first signal.
const runGrace = 10 * time.Second

func runRun(e *env, args []string) int {
	fs := newFlags(e, "run", "run [--policy FILE] [--agent NAME] [--timeout D] [--memory SIZE] [--env NAME]... -- COMMAND [ARGS...]", runHelp)
	var pf policyFlags
	pf.register(fs, true)
	timeout := fs.Duration("timeout", 0, "kill the sandbox after `duration` (default: no limit)")
	memory := fs.String("memory", "2GiB", "memory of each process of the sandbox (`size`, such as 512MiB or 4GiB)")
	processes := fs.Int("processes", 512, "most processes (threads included) the sandbox may hold")
	var envNames multiFlag
	fs.Var(&envNames, "env", "pass this variable of Warden's environment on (repeatable); never name a secret the agent must not see")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) == 0 {
		return usageErr(e, "run needs a command: warden run --agent NAME -- COMMAND [ARGS...]")
	}
	mem, err := parseRunSize(*memory)
	if err != nil {
		return usageErr(e, "--memory: %v", err)
	}
	if *timeout < 0 || *processes <= 0 {
		return usageErr(e, "--timeout and --processes must be positive")
	}
	for _, n := range envNames {
		if n == "" || strings.ContainsAny(n, "=\x00") {
			return usageErr(e, "--env %q is not a variable name", n)
		}
	}

	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	eng, agent, code := openAgentEngine(e, &pf, false, false, logger)
	if code != ExitOK {
		return code
	}
	defer eng.Close()
	p := eng.Policy()
	view, err := agentView(p, agent)
	if err != nil {
		return fail(e, &configError{err})
	}
	prog, err := runProgram(pos[0], view.paths)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	dir, dirNote := runDir(view.paths)

	degraded := p.AgentAllowDegraded(agent)
	probe := sandbox.ProbeProcess()
	if missing := probe.Unaccepted(degraded); len(missing) > 0 {
		fmt.Fprintf(e.stderr, "warden: run: this host cannot build the sandbox: missing %s\n", strings.Join(missing, "; "))
		fmt.Fprintf(e.stderr, "  a policy may accept a missing landlock or seccomp layer for the agent: agents: {%s: {sandbox: {allow_degraded: [...]}}}; namespaces are never optional\n", agent)
		return ExitConfig
	}

	// The proxy knows which resources it can reach; with none, the
	// sandbox's network stays empty.
	px, err := egress.New(egress.Config{Engine: eng, Agent: agent, Logger: logger})
	if err != nil {
		return fail(e, &configError{err})
	}
	defer px.Close()
	reach := px.Reach()
	if view.http = len(reach) > 0; view.http {
		// Resources the proxy serves are not left out: Reach names each
		// as "name: ...".
		view.other = slices.DeleteFunc(view.other, func(name string) bool {
			return slices.ContainsFunc(reach, func(r string) bool { return strings.HasPrefix(r, name+": ") })
		})
	} else {
		px.Close()
		px = nil
	}

	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp"}
	for _, n := range append(slices.Clone(runEnv), envNames...) {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	printRunScreen(e, agent, prog, pos[1:], dir, dirNote, view, reach, probe, degraded, envNames)

	cmd := sandbox.Command{
		Program: prog,
		Args:    pos[1:],
		Env:     env,
		Dir:     dir,
		Paths:   view.paths,
		Stdio:   &sandbox.Stdio{Stdin: stdinFile(e), Stdout: fileOf(e.stdout, os.Stdout), Stderr: fileOf(e.stderr, os.Stderr)},
		Limits: sandbox.Limits{
			Wall: sandbox.NoTimeLimit, CPU: sandbox.NoTimeLimit, Memory: mem, Processes: *processes,
			OpenFiles: 4096,
		},
		AllowDegraded: degraded,
	}
	if *timeout > 0 {
		cmd.Limits.Wall = *timeout
	}
	if px != nil {
		cmd.Egress = func(ln net.Listener) {
			go func() {
				if err := px.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
					logger.Warn("egress proxy stopped", "err", err)
				}
			}()
		}
	}

	// Signals go to the program; the sandbox is killed at the second one,
	// or when the program has not ended runGrace after the first.
	ctx, cancel := context.WithCancel(context.WithoutCancel(e.ctx))
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	fwd := make(chan os.Signal, 2)
	cmd.Signals = fwd
	go relaySignals(ctx, e.ctx, sigs, fwd, cancel)

	startArgs := make([]string, 0, min(len(pos)-1, 64))
	for _, a := range pos[1:min(len(pos), 65)] {
		startArgs = append(startArgs, eng.Redact(a))
	}
	startID := recordRun(e, eng, &audit.Record{
		Event: "run_start", Agent: agent, Decision: "allow",
		Detail: map[string]any{"program": prog, "args": startArgs, "dir": dir, "network": view.http, "allow_degraded": degraded},
	})
	started := time.Now()
	res, err := sandbox.Run(ctx, cmd)
	end := &audit.Record{Event: "run_end", Agent: agent, DurationMS: float64(time.Since(started).Microseconds()) / 1000, Detail: map[string]any{"start_id": startID}}
	if err != nil {
		end.Outcome, end.Error = "error", err.Error()
		recordRun(e, eng, end)
		fmt.Fprintf(e.stderr, "warden: run: %v\n", err)
		var ce *sandbox.CommandError
		if errors.As(err, &ce) {
			return ExitUsage
		}
		return ExitToolFailed
	}
	end.Outcome = "ok"
	end.Detail["exit_code"] = res.ExitCode
	if res.KilledBy != "" {
		end.Detail["killed_by"] = res.KilledBy
	}
	if res.Signal != "" {
		end.Detail["signal"] = res.Signal
	}
	recordRun(e, eng, end)
	switch {
	case res.KilledBy == sandbox.KilledByTimeout:
		fmt.Fprintf(e.stderr, "warden: run: killed at the --timeout of %s\n", *timeout)
	case res.KilledBy == sandbox.KilledByCanceled:
		fmt.Fprintf(e.stderr, "warden: run: killed: the program did not end after a signal\n")
	case res.KilledBy == sandbox.KilledBySeccomp:
		fmt.Fprintf(e.stderr, "warden: run: killed: the program made a system call the sandbox forbids (%s)\n", res.Signal)
	case res.Signal != "":
		fmt.Fprintf(e.stderr, "warden: run: the program ended by %s\n", res.Signal)
	}
	if res.ExitCode < 0 {
		// As a shell reports a signal's end: 128 + its number.
		if n := signalNumber(res.Signal); n > 0 {
			return 128 + n
		}
		return ExitToolFailed
	}
	return res.ExitCode
}

// relaySignals passes SIGINT and SIGTERM on to the program, and kills the
// sandbox (cancel) at the second, or runGrace after the first. outer ends
// with the first signal too (main's context); alone, it starts the grace.
func relaySignals(ctx, outer context.Context, sigs <-chan os.Signal, fwd chan<- os.Signal, cancel func()) {
	var grace <-chan time.Time
	seen := 0
	outerDone := outer.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-sigs:
			seen++
			if seen > 1 {
				cancel()
				return
			}
			select {
			case fwd <- s:
			default:
			}
			grace = time.After(runGrace)
		case <-outerDone:
			outerDone = nil
			if grace == nil {
				grace = time.After(runGrace)
			}
		case <-grace:
			cancel()
			return
		}
	}
}

// recordRun appends a run event to the audit log; a failure is reported,
// not fatal: the program's own calls are audited by the proxy.
func recordRun(e *env, eng *engine.Engine, rec *audit.Record) string {
	id, err := eng.Record(context.WithoutCancel(e.ctx), rec)
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: run: audit: %v\n", err)
	}
	return id
}

// runView is what an agent's sandbox shows of the host.
type runView struct {
	paths []sandbox.Path
	http  bool     // the agent may reach something through the egress proxy: its network
	other []string // resources of other kinds it holds grants on, which the sandbox does not show
	notes []string // rules of its grants the kernel cannot restate, said on the start screen
}

// agentView derives the sandbox's paths from the agent's grants: the root
// of each fs resource it holds a grant on, writable where a grant there
// writes. Warden's state directory, the policy file and secret files must
// stay out of sight: a root that holds one is refused.
func agentView(p *policy.Policy, agent string) (runView, error) {
	var v runView
	for _, spec := range p.Resources() {
		actions := p.Actions(agent, spec.Name)
		if len(actions) == 0 {
			continue
		}
		kind := connector.Lookup(spec.Kind)
		switch {
		case kind == nil:
			v.other = append(v.other, spec.Name)
		case kind.HostTarget != nil:
			// A kind whose targets are host files (a directory tree): the
			// sandbox shows the files themselves.
			paths, notes := grantedTrees(p, agent, spec, kind)
			v.paths = append(v.paths, paths...)
			v.notes = append(v.notes, notes...)
		default:
			v.other = append(v.other, spec.Name)
		}
	}
	hidden := []struct{ path, what, fix string }{
		{p.Settings().StateDir, "Warden's state directory (audit log, approvals, journal)", "set settings.state_dir outside it"},
	}
	if src, err := filepath.Abs(p.Source()); err == nil {
		hidden = append(hidden, struct{ path, what, fix string }{src, "the policy file", "keep the policy outside it"})
	}
	for _, f := range p.SecretFiles() {
		hidden = append(hidden, struct{ path, what, fix string }{f, "a secret file", "keep secret files outside it"})
	}
	for _, sp := range v.paths {
		root := realPath(sp.Path)
		for _, h := range hidden {
			hp := realPath(h.path)
			if inside.Within(hp, root) || inside.Within(root, hp) {
				return v, fmt.Errorf("run: resource %s (%s) would show the agent %s (%s): %s, or run the agent with another policy", sp.Why, sp.Path, h.what, h.path, h.fix)
			}
		}
	}
	return v, nil
}

// grantedTrees is what the sandbox shows of a file-tree resource: its
// root where a grant covers the whole resource, else the directories its
// grants' patterns start with (docs/** shows docs, drafts/*.md drafts),
// each writable only where a grant with a writing action names it. The
// kernel sees whole trees: deny rules and conditions cannot be restated
// to it, so they are reported, not enforced.
func grantedTrees(p *policy.Policy, agent string, spec *core.ResourceSpec, kind *core.ResourceKind) ([]sandbox.Path, []string) {
	var notes []string
	grants := p.Grants(agent, spec.Name)
	write := slices.ContainsFunc(grants, func(g policy.Grant) bool { return slices.ContainsFunc(g.Actions, kind.Writes) })
	hps := kind.HostPaths(spec, write)
	if len(hps) != 1 || !hps[0].Dir {
		// Not one directory: show what the kind names, as it names it.
		var out []sandbox.Path
		for _, hp := range hps {
			out = append(out, sandboxPath(hp, spec.Name))
		}
		return out, notes
	}
	root := hps[0].Path
	access := map[string]sandbox.Access{} // directory relative to root → access
	for _, g := range grants {
		acc := sandbox.Read
		if slices.ContainsFunc(g.Actions, kind.Writes) {
			acc = sandbox.Write
		}
		prefixes := []string{"."}
		if len(g.Paths) > 0 {
			prefixes = prefixes[:0]
			for _, pat := range g.Paths {
				prefixes = append(prefixes, literalPrefix(pat))
			}
		}
		for _, pre := range prefixes {
			access[pre] = max(access[pre], acc)
		}
		if g.When != "" {
			notes = append(notes, fmt.Sprintf("%s: the condition of %s (when: %s) is not evaluated inside: the files it covers are shown whole", spec.Name, g.Rule, g.When))
		}
	}
	if len(p.Denies(agent, spec.Name)) > 0 {
		notes = append(notes, fmt.Sprintf("%s: its deny rules are not enforced inside: files they deny within the trees shown are visible", spec.Name))
	}
	rootReal := realPath(root)
	var out []sandbox.Path
	for _, rel := range slices.Sorted(maps.Keys(access)) {
		acc := access[rel]
		covered := false
		for other, oacc := range access {
			if other != rel && oacc >= acc && (other == "." || strings.HasPrefix(rel, other+"/")) {
				covered = true
			}
		}
		if covered {
			continue
		}
		host := filepath.Join(root, filepath.FromSlash(rel))
		real := realPath(host)
		fi, err := os.Stat(real)
		switch {
		case !inside.Within(real, rootReal):
			notes = append(notes, fmt.Sprintf("%s: %s leads outside the resource's root; not shown", spec.Name, rel))
			continue
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: %s does not exist; not shown (create it before the run)", spec.Name, rel))
			continue
		}
		out = append(out, sandbox.Path{Path: real, Access: acc, Dir: fi.IsDir(), Why: spec.Name})
	}
	return out, notes
}

// literalPrefix is the part of a path pattern before its first wildcard,
// whole segments only: "docs/**" → "docs", "drafts/*.md" → "drafts",
// "*.md" → ".".
func literalPrefix(pattern string) string {
	segs := strings.Split(strings.Trim(pattern, "/"), "/")
	n := 0
	for n < len(segs) && !strings.ContainsAny(segs[n], "*?[{\\") && segs[n] != "" {
		n++
	}
	if n == 0 {
		return "."
	}
	return path.Clean(strings.Join(segs[:n], "/"))
}

// realPath resolves symbolic links as far as the path exists.
func realPath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	if dir := filepath.Dir(p); dir != p {
		return filepath.Join(realPath(dir), filepath.Base(p))
	}
	return p
}

// runProgram finds the program on Warden's PATH and checks that the
// sandbox shows it: in a system directory or a granted one.
func runProgram(name string, paths []sandbox.Path) (string, error) {
	found, err := osexec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("run: program %q: %v", name, err)
	}
	abs, err := filepath.Abs(found)
	if err != nil {
		return "", fmt.Errorf("run: program %q: %v", name, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("run: program %q: %v", name, err)
	}
	mounts := make([]inside.Mount, 0, len(paths))
	for _, p := range paths {
		mounts = append(mounts, inside.Mount{Path: realPath(p.Path)})
	}
	if !inside.Covered(real, mounts) {
		return "", fmt.Errorf("run: program %s lies outside the system directories and the agent's grants, so the sandbox would not show it: install it under /usr, or grant the agent its directory", real)
	}
	return real, nil
}

// runDir is the working directory: the current one when the sandbox shows
// it, else /tmp, with a note saying so.
func runDir(paths []sandbox.Path) (string, string) {
	wd, err := os.Getwd()
	if err == nil {
		wd = realPath(wd)
		for _, p := range paths {
			if p.Dir && inside.Within(wd, realPath(p.Path)) {
				return wd, ""
			}
		}
	}
	return "", "the current directory is not granted to the agent: the program starts in /tmp (private, emptied at the end)"
}

// printRunScreen says, in one screen, what the agent can reach.
func printRunScreen(e *env, agent, prog string, args []string, dir, dirNote string, v runView, reach []string, probe sandbox.ProcessReport, degraded, envNames []string) {
	w := e.stderr
	line := strings.Join(append([]string{prog}, args...), " ")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	fmt.Fprintf(w, "warden: running %s as agent %q in a sandbox\n", line, agent)
	var ro, rw []string
	for _, p := range v.paths {
		if p.Access == sandbox.Write {
			rw = append(rw, p.Path+" ("+p.Why+")")
		} else {
			ro = append(ro, p.Path+" ("+p.Why+")")
		}
	}
	list := func(xs []string) string {
		if len(xs) == 0 {
			return "nothing"
		}
		return strings.Join(xs, ", ")
	}
	fmt.Fprintf(w, "  read:    %s; system directories (/usr, /bin, /lib, …)\n", list(append(ro, rw...)))
	fmt.Fprintf(w, "  write:   %s; its own /tmp\n", list(rw))
	if len(v.paths) > 0 {
		fmt.Fprintf(w, "           (whole trees: files the fs tools would hide, such as .env or keys, are visible)\n")
	}
	for _, n := range v.notes {
		fmt.Fprintf(w, "  note:    %s\n", n)
	}
	if len(reach) == 0 {
		fmt.Fprintf(w, "  network: none\n")
	} else {
		fmt.Fprintf(w, "  network: only Warden's egress proxy (HTTP_PROXY=http://127.0.0.1:%d), each request checked and audited:\n", sandbox.EgressPort)
		for _, r := range reach {
			fmt.Fprintf(w, "           %s\n", r)
		}
	}
	if len(v.other) > 0 {
		fmt.Fprintf(w, "  not in the sandbox: %s (kinds warden run does not show; use them through warden serve)\n", strings.Join(v.other, ", "))
	}
	if dir == "" {
		fmt.Fprintf(w, "  dir:     /tmp: %s\n", dirNote)
	} else {
		fmt.Fprintf(w, "  dir:     %s\n", dir)
	}
	passed := append([]string{"PATH", "HOME=/tmp"}, runEnv...)
	fmt.Fprintf(w, "  env:     %s\n", strings.Join(append(passed, envNames...), ", "))
	var layers []string
	for _, l := range []string{sandbox.LayerNamespaces, sandbox.LayerLandlock, sandbox.LayerSeccomp, sandbox.LayerLimits} {
		if why, ok := probe.Missing[l]; ok && slices.Contains(degraded, l) {
			layers = append(layers, l+" MISSING, accepted by the policy ("+why+")")
		} else {
			layers = append(layers, l)
		}
	}
	fmt.Fprintf(w, "  layers:  %s\n", strings.Join(layers, ", "))
}

// stdinFile is the program's stdin: Warden's own when e reads it.
func stdinFile(e *env) *os.File {
	if f, ok := e.stdin.(*os.File); ok {
		return f
	}
	return nil // end of file
}

// fileOf returns w as a file, or def when w is not one (a test's buffer).
func fileOf(w any, def *os.File) *os.File {
	if f, ok := w.(*os.File); ok {
		return f
	}
	return def
}

// parseRunSize reads a size such as 512MiB, 4GiB or a number of bytes.
func parseRunSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<42)/mult {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 4GiB", s)
	}
	if n*mult < 16<<20 {
		return 0, fmt.Errorf("%q is below 16MiB", s)
	}
	return n * mult, nil
}

// signalNumber is the number of a signal named as the sandbox names it
// (SIGKILL), or 0.
func signalNumber(name string) int { return int(unix.SignalNum(name)) }
