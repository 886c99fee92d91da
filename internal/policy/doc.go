// Package policy compiles Warden's policy file and decides requests.
//
// A policy (version: 1) declares resources, agents and each agent's grants
// and deny rules. Everything not granted is denied; a deny rule always wins
// over a grant; a matching grant that requires approval wins over one that
// does not; otherwise the first matching grant in file order decides. The README's policy reference documents every key.
//
// # Lifecycle
//
// Compile once, evaluate many times:
//
//	p, err := policy.Load("warden.yaml")      // or Compile(src, WithSource(...))
//	d := p.Evaluate(ctx, &core.Request{...})  // no I/O; bounded cost
//
// Compile parses the YAML syntax tree by hand so that every problem (unknown
// keys, wrong types, unknown resources and actions, bad globs, bad CEL,
// unresolvable secrets) is reported at once as [Errors], each with
// file:line:col and a hint. Secret values are never part of an error. A
// file over [MaxPolicyBytes], or nesting deeper than [MaxNesting], is
// refused before it is decoded, and compile time grows linearly with the
// number of agents, resources and rules (see BenchmarkCompile).
//
// # Decisions
//
// [Policy.Evaluate] returns a [core.Decision] whose zero value denies. Rules
// are indexed by agent, resource, action and the first literal segment of
// their path patterns, so a decision on a policy of thousands of grants takes
// well under a microsecond or two (see BenchmarkEvaluate). [Policy.Explain]
// returns the same decision plus every rule considered.
//
// # Conditions
//
// A grant or deny rule may carry when:, a CEL expression compiled once at
// load, evaluated with a cost limit, over these variables:
//
//	agent, resource, action, tool  string
//	path                           string: the normalised target ("" if none)
//	args                           map(string, dyn): the tool's arguments
//	now                            timestamp: when the call arrived
//
// A condition that fails to evaluate (a missing key, a type error, the cost
// limit) fails closed: the grant does not apply, or the deny rule does.
package policy
