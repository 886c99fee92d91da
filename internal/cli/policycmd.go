package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sensitive"
)

const policyHelp = `  warden policy check [--offline] FILE
      Validates a policy file: every problem is reported at once, each as
      file:line:col with what to write instead. Exit 0 if valid, 5 if not.
      Then checks, without changing anything, that each resource can be
      used: its directory or SQLite file exists and can be read, its
      OpenAPI document loads, its database server lets the login in
      (--offline skips what needs the network or a server). Exit 5 if
      one cannot.

  warden policy explain FILE [--agent NAME] TOOL ['ARGS-JSON']
      Prints the decision for a call and every rule considered, without
      running it, asking for approval or writing the audit log.

  warden policy sensitive
      Prints the patterns of files that usually hold secrets, one a line:
      every resource hides them unless a grant's pattern names them.

` + kindsHelp

func runPolicy(e *env, args []string) int {
	return subcommands(e, "policy", policyHelp, args, map[string]func(*env, []string) int{
		"check":     runPolicyCheck,
		"explain":   runPolicyExplain,
		"sensitive": runPolicySensitive,
		"kinds":     runPolicyKinds,
	})
}

func runPolicySensitive(e *env, args []string) int {
	fs := newFlags(e, "policy sensitive", "policy sensitive", policyHelp)
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "policy sensitive takes no arguments, got %q", pos)
	}
	for _, p := range sensitive.Patterns() {
		fmt.Fprintln(e.stdout, p)
	}
	return ExitOK
}

func runPolicyCheck(e *env, args []string) int {
	fs := newFlags(e, "policy check", "policy check [--offline] FILE", policyHelp)
	offline := fs.Bool("offline", false, "check only what is on this machine: do not connect to database servers")
	file := fs.String("policy", "", "the policy `file`, as the other commands take it (or give FILE)")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if *file != "" && len(pos) == 0 {
		pos = []string{*file}
	}
	if len(pos) != 1 || (*file != "" && pos[0] != *file) {
		fs.Usage()
		return ExitUsage
	}
	p, err := policy.Load(pos[0])
	if err != nil {
		var errs policy.Errors
		if errors.As(err, &errs) {
			fmt.Fprintf(e.stderr, "%v\n%s: %d problem(s)\n", err, pos[0], len(errs))
			return ExitConfig
		}
		return fail(e, &configError{policyReadError(pos[0], err)})
	}
	for _, w := range p.Warnings() {
		fmt.Fprintf(e.stderr, "warning: %v\n", w)
	}
	grants := 0
	for _, a := range p.Agents() {
		grants += len(p.Grants(a, ""))
	}
	if n := checkResources(e, p, *offline); n > 0 {
		fmt.Fprintf(e.stderr, "%s: %d resource(s) cannot be used\n", pos[0], n)
		return ExitConfig
	}
	fmt.Fprintf(e.stdout, "%s: ok: %d resource(s), %d agent(s), %d grant(s)\n", pos[0], len(p.Resources()), len(p.Agents()), grants)
	return ExitOK
}

// explainOutput is what warden policy explain prints with --json. Its keys
// are lower-case snake_case, like every JSON Warden prints.
type explainOutput struct {
	Decision string        `json:"decision"`
	Reasons  []core.Reason `json:"reasons"`
	Rule     string        `json:"rule,omitempty"`
	Position string        `json:"position,omitempty"`
	Message  string        `json:"message"`
	Resource string        `json:"resource,omitempty"`
	Action   string        `json:"action,omitempty"`
	Path     string        `json:"path,omitempty"`
	Steps    []explainStep `json:"steps,omitempty"`
}

// explainStep is one rule considered, as explain --json prints it.
type explainStep struct {
	Rule     string `json:"rule,omitempty"`
	Position string `json:"position,omitempty"`
	Target   string `json:"target,omitempty"`
	Outcome  string `json:"outcome"`
}

func explainSteps(steps []policy.Step) []explainStep {
	out := make([]explainStep, len(steps))
	for i, s := range steps {
		out[i] = explainStep{Rule: s.Rule, Position: s.Position, Target: s.Target, Outcome: s.Outcome}
	}
	return out
}

func runPolicyExplain(e *env, args []string) int {
	fs := newFlags(e, "policy explain", "policy explain FILE [--agent NAME] TOOL ['ARGS-JSON']", policyHelp)
	agentFlag := fs.String("agent", "", "the agent making the call (optional when the policy has one agent)")
	asJSON := fs.Bool("json", false, "print JSON instead of text")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) < 2 || len(pos) > 3 {
		fs.Usage()
		return ExitUsage
	}
	raw := "{}"
	if len(pos) == 3 {
		raw = pos[2]
	}
	pf := policyFlags{file: pos[0]}
	eng, _, err := openEngine(e, &pf, false, true, nil)
	if err != nil {
		return openFailed(e, err)
	}
	defer eng.Close()
	agent, err := agentFor(eng.Policy(), *agentFlag)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	x := eng.Explain(e.ctx, core.Call{Agent: agent, Tool: pos[1], Args: json.RawMessage(raw)})
	d := x.Outcome.Decision
	out := explainOutput{
		Decision: d.Effect.String(), Reasons: d.Reasons, Rule: d.Rule, Position: d.Position,
		Message: x.Outcome.Message, Steps: explainSteps(x.Steps),
	}
	if x.Request != nil {
		out.Resource, out.Action, out.Path = x.Request.Resource, x.Request.Action, x.Request.Path
	}
	if *asJSON {
		printJSON(e, out)
	} else {
		w := e.stdout
		fmt.Fprintf(w, "decision: %s\n", out.Decision)
		fmt.Fprintf(w, "reasons:  %s\n", joinReasons(out.Reasons))
		if out.Rule != "" {
			fmt.Fprintf(w, "rule:     %s (%s)\n", out.Rule, out.Position)
		} else {
			fmt.Fprintf(w, "rule:     none (the default: deny)\n")
		}
		if x.Request != nil {
			fmt.Fprintf(w, "request:  agent=%s resource=%s action=%s path=%q\n", agent, out.Resource, out.Action, out.Path)
		}
		fmt.Fprintf(w, "message:  %s\n", out.Message)
		if len(out.Steps) > 0 {
			fmt.Fprintln(w, "rules considered:")
			for _, s := range out.Steps {
				if s.Rule == "" {
					fmt.Fprintf(w, "  - %s\n", s.Outcome)
					continue
				}
				fmt.Fprintf(w, "  - %s (%s) on %q: %s\n", s.Rule, s.Position, s.Target, s.Outcome)
			}
		}
	}
	// The exit code is what warden call would give before the tool runs.
	return exitCode(x.Outcome.Status)
}

func joinReasons(rs []core.Reason) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ", ")
}
