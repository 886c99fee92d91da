package sandboxed

import (
	"context"
	b64 "encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/names"
	"github.com/warden-dev/warden/internal/sandbox"
)

// OpRun is the kind's one operation: "<resource>_run".
const OpRun = "run"

// Bounds on what a call may pass, besides the policy's limits.
const (
	maxArgs      = 1024
	maxArgBytes  = 128 << 10 // all arguments together
	maxStdin     = 1 << 20
	maxEnvValues = 64
)

// programName is how a program is named in a policy and a call.
var programName = names.Spec{First: names.Chars("a-zA-Z0-9_"), Rest: names.Chars("a-zA-Z0-9_.+-"), Max: 64}

// Runner runs a command in a sandbox: a [sandbox.Launcher] once the
// serving process confines itself, or [sandbox.Run].
type Runner interface {
	Run(ctx context.Context, c sandbox.Command) (sandbox.Result, error)
}

type runFunc func(ctx context.Context, c sandbox.Command) (sandbox.Result, error)

func (f runFunc) Run(ctx context.Context, c sandbox.Command) (sandbox.Result, error) {
	return f(ctx, c)
}

// Connector runs one exec resource's programs.
type Connector struct {
	name string
	cfg  *Config
	host core.Host

	openMu   sync.Mutex
	launcher *sandbox.Launcher // from Open until Close
	runner   Runner
	closed   bool
	scratch  string   // this process's scratch directory; made on first use
	workdir  *fs.Tree // the work directory, as the fs kind changes it; opened on first use
}

// New returns the connector of an exec resource. Until Open starts its
// launcher, it runs programs with sandbox.Run in this process.
func New(spec *core.ResourceSpec, host core.Host) (*Connector, error) {
	cfg := config(spec)
	if cfg.Workdir == "" || len(cfg.Programs) == 0 {
		return nil, fmt.Errorf("resource %s: no workdir or programs", spec.Name)
	}
	return &Connector{name: spec.Name, cfg: cfg, host: host, runner: runFunc(sandbox.Run)}, nil
}

// runArgs are a call's arguments.
type runArgs struct {
	Program string            `json:"program"`
	Args    []string          `json:"args"`
	Stdin   string            `json:"stdin"`
	Env     map[string]string `json:"env"`
}

// runDetail is what a grant's constraint checks besides the program: the
// variables the call sets.
type runDetail struct {
	Env []string // names, sorted
}

// Operations lists the kind's one tool.
func (c *Connector) Operations() []core.Operation {
	progs := make([]string, len(c.cfg.Programs))
	for i, p := range c.cfg.Programs {
		progs[i] = p.Name
	}
	schema, _ := json.Marshal(map[string]any{
		"type":                 "object",
		"additionalProperties": false,
		"required":             []string{"program"},
		"properties": map[string]any{
			"program": map[string]any{"type": "string", "enum": progs, "description": "the program to run"},
			"args":    map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "maxItems": maxArgs, "description": "its arguments, each passed as it is: no shell splits or expands them"},
			"stdin":   map[string]any{"type": "string", "maxLength": maxStdin, "description": "what the program reads on standard input"},
			"env":     map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}, "maxProperties": maxEnvValues, "description": "environment variables to set, if a grant allows them"},
		},
	})
	return []core.Operation{{
		Name:        OpRun,
		Action:      "run",
		Summary:     "Run a program in a sandbox that sees only the work directory; returns its exit code and output.",
		InputSchema: schema,
		KeyArgs:     []string{"program", "args"},
		TargetArg:   "program",
	}}
}

// invalid is a refusal of a call's arguments the model can act on.
func invalid(format string, args ...any) error {
	return core.Errorf("exec.prepare", core.KindInvalid, core.ReasonInvalidArguments, format, args...)
}

// Prepare decodes a call and makes its program the target.
func (c *Connector) Prepare(_ context.Context, inv *core.Invocation) error {
	var a runArgs
	if err := argjson.Decode(inv.Args, inv.Values, &a); err != nil {
		return core.E("exec.prepare", core.KindInvalid, core.ReasonInvalidArguments, err.Error(), err)
	}
	if _, ok := c.cfg.program(a.Program); !ok {
		return invalid("%q is not one of the resource's programs.", a.Program)
	}
	total := 0
	for _, s := range a.Args {
		total += len(s)
		if strings.IndexByte(s, 0) >= 0 {
			return invalid("An argument holds a NUL byte.")
		}
	}
	if len(a.Args) > maxArgs || total > maxArgBytes {
		return invalid("The arguments exceed %d items or %d bytes.", maxArgs, maxArgBytes)
	}
	if len(a.Stdin) > maxStdin {
		return invalid("stdin exceeds %d bytes.", maxStdin)
	}
	d := &runDetail{}
	for k, v := range a.Env {
		if !validEnvName(k) || reservedEnv(k) || strings.IndexByte(v, 0) >= 0 {
			return invalid("%q cannot be set.", k)
		}
		d.Env = append(d.Env, k)
	}
	slices.Sort(d.Env)
	inv.Path, inv.Detail, inv.State = a.Program, d, &a
	return nil
}

// Result is what a run returns to the agent.
type Result struct {
	ExitCode   int    `json:"exit_code"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	Encoding   string `json:"encoding,omitempty"` // "base64" when the output is not UTF-8 text
	Truncated  bool   `json:"truncated"`
	DurationMS int64  `json:"duration_ms"`
	KilledBy   string `json:"killed_by,omitempty"`
	Signal     string `json:"signal,omitempty"`
	// Changes are the changes applied to the work directory (the first
	// maxChangesShown), then those skipped; ChangeCount counts them all,
	// or, when a limit let none be applied, the changes the program made.
	Changes     []Change `json:"changes,omitempty"`
	ChangeCount int      `json:"change_count"`
	// NotApplied says why not every change the program made reached the
	// work directory: over a limit (then none did), a change that failed
	// (those before it stay, and undo reverts them), objects skipped.
	NotApplied string `json:"not_applied,omitempty"`
}

// Execute runs the program in a sandbox of its own.
func (c *Connector) Execute(ctx context.Context, inv *core.Invocation, _ core.Scope) (*core.Result, error) {
	a, ok := inv.State.(*runArgs)
	if !ok {
		return nil, errors.New("exec: call not prepared")
	}
	prog, _ := c.cfg.program(a.Program)
	env := []string{"PATH=" + searchPath(c.cfg.Programs), "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8"}
	env = append(env, c.cfg.Env...)
	for _, k := range inv.Detail.(*runDetail).Env {
		env = append(env, k+"="+a.Env[k])
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(err)
	}
	c.openMu.Lock()
	runner, closed := c.runner, c.closed
	base, err := c.scratchDir()
	c.openMu.Unlock()
	if closed {
		return nil, core.E(opExecute, core.KindUnavailable, core.ReasonToolFailed, "The resource is closed; nothing ran.", nil)
	}
	if err != nil {
		return nil, core.E(opExecute, core.KindUnavailable, core.ReasonToolFailed, "The sandbox for "+a.Program+" could not be built; nothing ran.", err)
	}
	scratch, err := newCallScratch(base)
	if err != nil {
		return nil, core.E(opExecute, core.KindUnavailable, core.ReasonToolFailed, "The sandbox for "+a.Program+" could not be built; nothing ran.", fmt.Errorf("scratch directory: %w", err))
	}
	defer removeScratch(scratch)
	res, err := runner.Run(ctx, sandbox.Command{
		Program:       prog.Path,
		Args:          a.Args,
		Env:           env,
		Dir:           c.cfg.Workdir,
		Paths:         []sandbox.Path{{Path: c.cfg.Workdir, Access: sandbox.Write, Scratch: scratch}},
		Stdin:         []byte(a.Stdin),
		Limits:        limitsFor(c.cfg.Limits, inv.Options),
		AllowDegraded: c.cfg.AllowDegraded,
	})
	if err != nil {
		return nil, runError(a.Program, err)
	}
	if res.KilledBy == sandbox.KilledByCanceled {
		// Nothing of what it changed is applied.
		return nil, ctxError(context.Cause(ctx))
	}
	out := Result{
		ExitCode: res.ExitCode, Truncated: res.Truncated, DurationMS: res.Duration.Milliseconds(),
		KilledBy: res.KilledBy, Signal: res.Signal,
	}
	out.Stdout, out.Stderr, out.Encoding = text(res.Stdout, res.Stderr)
	ap, err := c.changesOf(ctx, scratch, writeLimitFor(c.cfg.WriteBytes, inv.Options), inv.Journal)
	if err != nil {
		return nil, core.E(opExecute, core.KindInternal, core.ReasonToolFailed, "The program ran, but what it changed in the work directory could not be read; nothing of it was applied.", err)
	}
	out.Changes, out.ChangeCount, out.NotApplied = ap.changes, ap.count, ap.problem
	return &core.Result{Value: out, Bytes: int64(len(res.Stdout) + len(res.Stderr)), Truncated: res.Truncated}, nil
}

// scratchDir returns this process's scratch directory, making it on first
// use. The caller holds openMu.
func (c *Connector) scratchDir() (string, error) {
	if c.scratch == "" {
		dir, err := openScratch(c.name)
		if err != nil {
			return "", err
		}
		c.scratch = dir
	}
	return c.scratch, nil
}

// tree returns the work directory as the fs kind changes it, opening it
// on first use.
func (c *Connector) tree(ctx context.Context) (*fs.Tree, error) {
	c.openMu.Lock()
	defer c.openMu.Unlock()
	if c.workdir == nil {
		t, err := fs.OpenTree(ctx, c.name, c.cfg.Workdir, c.host.Reserved, writeLimitFor(c.cfg.WriteBytes, core.GrantOptions{}))
		if err != nil {
			return nil, err
		}
		c.workdir = t
	}
	return c.workdir, nil
}

// Undo reverses what a run changed in the work directory, as the fs
// kind's undo does.
func (c *Connector) Undo(ctx context.Context, e *core.JournalEntry, objects core.Objects, j core.Journal, force bool) (*core.Result, error) {
	t, err := c.tree(ctx)
	if err != nil {
		return nil, err
	}
	return t.Undo(ctx, e, objects, j, force)
}

// text returns the outputs as strings: as they are when both are UTF-8,
// otherwise both in base64.
func text(stdout, stderr []byte) (string, string, string) {
	if utf8.Valid(stdout) && utf8.Valid(stderr) {
		return string(stdout), string(stderr), ""
	}
	return base64(stdout), base64(stderr), "base64"
}

// searchPath is PATH inside the sandbox: the directories of the
// resource's programs, then the system's.
func searchPath(progs []Program) string {
	var dirs []string
	for _, p := range progs {
		d := p.Path[:strings.LastIndexByte(p.Path, '/')]
		if d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range []string{"/usr/local/bin", "/usr/bin", "/bin"} {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	return strings.Join(dirs, ":")
}

func base64(b []byte) string { return b64.StdEncoding.EncodeToString(b) }

const opExecute = "exec.execute"

// ctxError is a run the caller's context ended.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return core.E(opExecute, core.KindTimeout, core.ReasonTimeout, "The call ran out of time; the program was stopped.", err)
	}
	return core.E(opExecute, core.KindTimeout, core.ReasonTimeout, "The call was cancelled; the program was stopped.", err)
}

// runError is a run that never started: the sandbox refused the command
// or could not be built. The cause, which names host paths, stays in the
// error for the operator.
func runError(program string, err error) error {
	var ce *sandbox.CommandError
	if errors.As(err, &ce) {
		return core.E(opExecute, core.KindDenied, core.ReasonToolFailed, "The sandbox refused to run "+program+"; nothing ran.", err)
	}
	return core.E(opExecute, core.KindUnavailable, core.ReasonToolFailed, "The sandbox for "+program+" could not be built; nothing ran.", err)
}
