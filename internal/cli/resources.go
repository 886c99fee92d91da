package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/redact"
)

// registerStrict adds --strict, for the commands that serve or call tools.
func (pf *policyFlags) registerStrict(fs *flag.FlagSet) {
	fs.BoolVar(&pf.strict, "strict", false, "refuse to start when a resource cannot be opened, as \"strict_resources: true\" under settings does (exit code 5); by default the others are served and it is tried again")
}

// engineOptions are the engine's options for a command: strict or not,
// retrying in the background (serve) or not (one call), and how a
// resource that cannot be opened is reported.
func (pf *policyFlags) engineOptions(opts engine.Options) engine.Options {
	opts.StrictResources = pf.strict
	opts.NoRetry = !pf.retry
	opts.OnResource = pf.onResource
	return opts
}

// reportResources prints on stderr, once, each resource that cannot be
// opened, with its place in the policy and the cause, and each that opens
// later.
func reportResources(e *env) func(engine.ResourceEvent) {
	return func(ev engine.ResourceEvent) {
		switch {
		case ev.Err == nil:
			fmt.Fprintf(e.stderr, "warden: resource %q is open now; its tools are offered\n", ev.Resource)
		case ev.Retrying:
			fmt.Fprintf(e.stderr, "warden: %s (its tools are not offered; Warden keeps trying to open it)\n", ev.Message)
		default:
			fmt.Fprintf(e.stderr, "warden: %s (its tools are not offered)\n", ev.Message)
		}
	}
}

// openFailed reports why the engine did not open and returns the exit
// code (see exitCodeOf): configuration for the policy, the state directory
// and a resource that cannot be opened under --strict.
func openFailed(e *env, err error) int {
	return fail(e, err)
}

// reportUnavailable prints the operator's cause of a call that failed
// because its resource is not open, and reports whether it did.
func reportUnavailable(e *env, eng *engine.Engine, out *engine.Outcome) bool {
	var re *engine.ResourceError
	if out.Status != engine.StatusFailed || !errors.As(out.Err, &re) {
		return false
	}
	fmt.Fprintf(e.stderr, "warden: %s\n", eng.Redact(re.Error()))
	return true
}

// checkResources checks, without side effects, that each resource of p
// can be used, through the connectors that implement [core.Checker]. It
// prints each problem as "file:line:col: resource "name": cause" and
// returns how many there are. With offline, what needs the network or a
// server is skipped.
func checkResources(e *env, p *policy.Policy, offline bool) int {
	problems := 0
	for _, spec := range p.Resources() {
		if connector.Lookup(spec.Kind) == nil {
			continue // no connector in this build: nothing to check with
		}
		if err := checkResource(e, spec, core.Host{Secrets: p.Secrets()}, offline); err != nil {
			re := &engine.ResourceError{Position: spec.Position, Resource: spec.Name, Err: err}
			fmt.Fprintf(e.stderr, "%v\n", redactSecrets(p, re.Error()))
			problems++
		}
	}
	return problems
}

func checkResource(e *env, spec *core.ResourceSpec, host core.Host, offline bool) error {
	c, err := connector.New(spec, host)
	if err != nil {
		return err
	}
	if cl, ok := c.(io.Closer); ok {
		defer cl.Close()
	}
	if ch, ok := c.(core.Checker); ok {
		return ch.Check(e.ctx, offline)
	}
	return nil
}

// redactSecrets removes the policy's secret values from s (a DSN's
// password that a driver's message might quote).
func redactSecrets(p *policy.Policy, s string) string {
	var values []string
	for _, sec := range p.Secrets() {
		values = append(values, sec.Reveal())
	}
	return redact.New(values...).String(s)
}
