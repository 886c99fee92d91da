// Package cli is Warden's command line. [Main] is the whole program: it
// parses arguments, runs one subcommand and returns the exit code, so tests
// drive it directly.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

// Exit codes. They are part of Warden's interface, the same for every
// command, and the README's table is this one:
//
//	0  ok             the command worked; the call was allowed and succeeded
//	1  failure        something failed while running: the tool failed, a
//	                  resource cannot be opened when a call needs it, a
//	                  check (doctor, audit verify) found a problem, the
//	                  HTTP address is in use
//	2  usage          bad flags or arguments, or a malformed call (unknown
//	                  tool or agent, arguments that do not fit the schema)
//	3  denied         the policy refused the call
//	4  pending        the call awaits a human's approval
//	5  configuration  the policy file does not load or names something
//	                  that cannot be used (policy check), the state
//	                  directory cannot be used, or, with --strict or
//	                  strict_resources, a resource cannot be opened
const (
	ExitOK         = 0
	ExitToolFailed = 1
	ExitUsage      = 2
	ExitDenied     = 3
	ExitPending    = 4
	ExitConfig     = 5
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// env is what a subcommand runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"serve", "serve an agent's tools over MCP (stdio, or streamable HTTP with --http)", runServe},
		{"call", "run one tool call through the policy and print the outcome as JSON", runCall},
		{"tools", "list an agent's tools with their JSON schemas", runTools},
		{"policy", "check a policy file, or explain a decision (policy check|explain)", runPolicy},
		{"approvals", "list calls waiting for a human's approval", runApprovals},
		{"approve", "approve one pending call by its ID", runApprove},
		{"deny", "refuse one pending call by its ID", runDeny},
		{"audit", "verify or show the audit log (audit verify|show|head)", runAudit},
		{"undo", "restore what one call changed, by its audit ID", runUndo},
		{"history", "list the journaled versions of a file", runHistory},
		{"run", "run an agent program in a sandbox: its fs grants as its disk, its http grants as its only network", runRun},
		{"proxy", "run the egress proxy that applies an agent's http grants to its own HTTP clients", runProxy},
		{"doctor", "print what each layer of defence does on this machine", runDoctor},
		{"init", "write a commented starter policy for the current directory", runInit},
		{"version", "print Warden's version", runVersion},
	}
}

// allCommands are Warden's commands, then those the resource kinds bring.
// Kinds register when main links them in, so they are asked at run time.
func allCommands() []command { return append(slices.Clip(commands), kindCommands()...) }

// Main runs the warden command with args (without the program name).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) == 0 {
		usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return ExitOK
	case "-version", "--version":
		return runVersion(e, nil)
	}
	for _, c := range allCommands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "warden: unknown command %q\n\n", args[0])
	usage(stderr)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Warden guards what LLM agents may do with files, databases and APIs.

Usage: warden <command> [flags] [arguments]

Commands:
`)
	for _, c := range allCommands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "warden <command> -h" for a command's flags. The policy is --policy FILE,
else $WARDEN_POLICY, else ./warden.yaml; without one, serve, call and tools
expose the current directory read-only with secrets hidden.
`)
}

// newFlags returns a flag set whose errors and help go to stderr.
func newFlags(e *env, name, usageLine, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: warden %s\n\n%s\n", usageLine, help)
		if hasFlags(fs) {
			fmt.Fprintln(e.stderr, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses flags that may appear before, between or after positional
// arguments, and returns the positional ones. "--" ends flag parsing.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageErr reports bad usage and returns ExitUsage.
func usageErr(e *env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "warden: "+format+"\n", args...)
	return ExitUsage
}

// policyFlags are shared by every command that loads a policy.
type policyFlags struct {
	file  string
	agent string
	// strict, retry and onResource: see engineOptions.
	strict     bool
	retry      bool
	onResource func(engine.ResourceEvent)
}

func (pf *policyFlags) register(fs *flag.FlagSet, withAgent bool) {
	fs.StringVar(&pf.file, "policy", "", "policy `file` (default $WARDEN_POLICY, else ./warden.yaml if present)")
	if withAgent {
		fs.StringVar(&pf.agent, "agent", "", "the agent to act as (optional when the policy has one agent)")
	}
}

// errNoPolicy means no policy file was named or found.
var errNoPolicy = errors.New("no policy file")

// policyPath returns the policy file to use, or errNoPolicy.
func (pf *policyFlags) policyPath(e *env) (string, error) {
	if pf.file != "" {
		return pf.file, nil
	}
	if f := e.getenv("WARDEN_POLICY"); f != "" {
		return f, nil
	}
	if _, err := os.Stat("warden.yaml"); err == nil {
		return "warden.yaml", nil
	}
	return "", errNoPolicy
}

// load loads the policy; with allowDefault and no policy file, it returns
// the zero-configuration policy for the working directory.
func (pf *policyFlags) load(e *env, allowDefault bool) (*policy.Policy, bool, error) {
	path, err := pf.policyPath(e)
	if errors.Is(err, errNoPolicy) {
		if !allowDefault {
			return nil, false, &configError{errors.New("no policy file: pass --policy FILE, set WARDEN_POLICY, or run \"warden init\"")}
		}
		wd, err := os.Getwd()
		if err != nil {
			return nil, false, err
		}
		p, err := policy.Default(wd)
		if err != nil {
			return nil, false, &configError{err}
		}
		return p, true, nil
	}
	p, err := policy.Load(path)
	if err != nil {
		var errs policy.Errors
		if errors.As(err, &errs) {
			return nil, false, &configError{fmt.Errorf("%s has %d problem(s):\n%w", path, len(errs), err)}
		}
		return nil, false, &configError{policyReadError(path, err)}
	}
	return p, false, nil
}

// agentFor picks the agent: the flag, or the policy's only agent.
func agentFor(p *policy.Policy, flagAgent string) (string, error) {
	if flagAgent != "" {
		if !p.HasAgent(flagAgent) {
			return "", fmt.Errorf("unknown agent %q; the policy declares: %s", flagAgent, strings.Join(p.Agents(), ", "))
		}
		return flagAgent, nil
	}
	agents := p.Agents()
	if len(agents) == 1 {
		return agents[0], nil
	}
	return "", fmt.Errorf("the policy declares %d agents (%s); choose one with --agent", len(agents), strings.Join(agents, ", "))
}

// openEngine loads the policy and opens the engine.
func openEngine(e *env, pf *policyFlags, allowDefault, noState bool, logger *slog.Logger) (*engine.Engine, bool, error) {
	p, isDefault, err := pf.load(e, allowDefault)
	if err != nil {
		return nil, false, err
	}
	for _, w := range p.Warnings() {
		fmt.Fprintf(e.stderr, "warden: warning: %v\n", w)
	}
	eng, err := engine.New(e.ctx, p, pf.engineOptions(engine.Options{Logger: logger, NoState: noState}))
	if err != nil {
		return nil, false, err
	}
	return eng, isDefault, nil
}

// openAgentEngine opens the engine and picks the agent; on failure it has
// already reported the problem and returns the exit code.
func openAgentEngine(e *env, pf *policyFlags, allowDefault, noState bool, logger *slog.Logger) (*engine.Engine, string, int) {
	eng, _, err := openEngine(e, pf, allowDefault, noState, logger)
	if err != nil {
		return nil, "", openFailed(e, err)
	}
	agent, err := agentFor(eng.Policy(), pf.agent)
	if err != nil {
		eng.Close()
		return nil, "", usageErr(e, "%v", err)
	}
	return eng, agent, ExitOK
}

// subcommands runs the named subcommand of a command group such as
// "policy" or "audit", or prints the group's help.
func subcommands(e *env, group, help string, args []string, subs map[string]func(*env, []string) int) int {
	if len(args) == 0 {
		fmt.Fprintf(e.stderr, "Usage:\n%s\n", help)
		return ExitUsage
	}
	if run, ok := subs[args[0]]; ok {
		return run(e, args[1:])
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage:\n%s\n", help)
		return ExitOK
	}
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	slices.Sort(names)
	return usageErr(e, "unknown %s command %q; use %s", group, args[0], strings.Join(names, ", "))
}

func runVersion(e *env, _ []string) int {
	fmt.Fprintf(e.stdout, "warden %s\n", Version)
	return ExitOK
}
