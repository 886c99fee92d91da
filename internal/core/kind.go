package core

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// ResourceKind is everything kind-specific that the rest of Warden needs
// to know about one kind of resource: a local directory, a database, an
// HTTP API. Each kind is one package under internal/connector that
// registers its ResourceKind from init; the policy, the engine, the MCP
// server and the CLI learn about kinds only through it, so adding a kind
// touches no other package.
//
// Fields marked optional may be left nil.
type ResourceKind struct {
	// Name is the kind as a policy writes it: "kind: NAME".
	Name string
	// Summary says in a few words what a resource of the kind is, for
	// "warden policy kinds" and error hints ("a local directory").
	Summary string

	// Actions are the policy actions of the kind, in the order they are
	// documented.
	Actions []string
	// ReadActions are those of Actions that change nothing. A resource
	// on which some agent holds any other action is writable (Landlock
	// confines it read-write).
	ReadActions []string
	// Implied maps an action to the actions that granting it also grants:
	// whoever may read a file may see its metadata. Optional.
	Implied map[string][]string
	// ApprovalByDefault are the actions whose grants ask a human first
	// unless they say approval: explicitly (a statement that changes a
	// database). Optional.
	ApprovalByDefault []string

	// Resource decodes the kind's resource blocks.
	Resource ResourceSyntax
	// Rules decodes what the kind's grants and deny rules say besides
	// resource, actions, approval, when and description.
	Rules RuleSyntax

	// New constructs the connector for one resource of the kind. It only
	// stores and checks configuration: opening files, dialling or
	// resolving names belongs in [Opener.Open].
	New func(spec *ResourceSpec, host Host) (Connector, error)

	// Describe says what one resource is, for the model, in a clause that
	// follows its name in tool descriptions: "a local directory; paths are
	// relative to its root". Optional.
	Describe func(spec *ResourceSpec) string
	// ScopeNote, if set, ends the scope of every tool description of the
	// kind: what the policy hides whatever the grants say.
	ScopeNote string

	// HostPaths lists the files and directories a resource's connector
	// opens once the serving process has confined itself (Landlock).
	// writable reports whether some agent may change the resource. A kind
	// without HostPaths cannot be served under Landlock: Warden refuses
	// rather than guess.
	HostPaths func(spec *ResourceSpec, writable bool) []HostPath
	// HostTarget maps a path on the host to the target a resource's
	// journal records ("warden history FILE"); ok is false when the path
	// is not the resource's. Optional: kinds without a journal leave it nil.
	HostTarget func(spec *ResourceSpec, hostPath string) (target string, ok bool)

	// Doctor checks the kind's resources for "warden doctor". Optional.
	Doctor func(ctx context.Context, in DoctorInput) []Checkup
	// Commands are the kind's own CLI subcommands ("warden sql grants").
	// Optional.
	Commands []Command

	// Example is a small working resource of the kind: the contract suite
	// every kind passes runs through it, and "warden policy kinds" shows
	// it.
	Example KindExample
}

// KindExample is a working resource of a kind that can be set up
// anywhere, with calls the kind's connector must answer.
type KindExample struct {
	// Setup creates what the resource needs under dir (a directory with a
	// file, a SQLite database, a server on loopback) and returns the
	// resource's block as a YAML flow mapping (`{kind: fs, root: ./notes}`)
	// and a function that releases what it started.
	Setup func(dir string) (block string, release func(), err error)
	// Grant is a grant on the resource as a YAML flow mapping without
	// its resource key (`{actions: [read]}`).
	Grant string
	// Valid is a call that succeeds.
	Valid Invocation
	// Missing is a call on a target that does not exist: it fails with
	// not-found. Empty for kinds whose missing targets must look like
	// ungranted ones (a table outside the grants).
	Missing Invocation
	// Invalid are arguments the connector's Prepare refuses.
	Invalid []Invocation
}

// Writes reports whether action changes a resource of the kind.
func (k *ResourceKind) Writes(action string) bool {
	for _, a := range k.ReadActions {
		if a == action {
			return false
		}
	}
	return true
}

// ResourceSyntax is how a kind's resource block is written.
type ResourceSyntax struct {
	// Keys are the kind's keys, besides kind and description, in the
	// order they are documented. Any other key is a problem.
	Keys []string
	// Decode reads the block into the kind's configuration, stored as
	// [ResourceSpec.Config]. It reports every problem through n and
	// carries on after one; its result is used only when there are none.
	Decode func(n PolicyNode) any
}

// RuleSyntax is how a kind's grants and deny rules are written.
type RuleSyntax struct {
	// GrantKeys and DenyKeys are the kind's own keys in a grant and in a
	// deny rule, besides resource, actions, paths (when Paths is set),
	// approval (grants only), when and description.
	GrantKeys []string
	DenyKeys  []string
	// Paths, when set, says the rules take "paths:", patterns matched
	// against each call's target.
	Paths *PathSyntax
	// Decode reads the kind's own keys of one rule into r. Optional.
	Decode func(n PolicyNode, r *RuleDraft)

	// Sensitive, if set, reports a target that usually holds secrets: only
	// a grant whose pattern NamesSensitive covers it.
	Sensitive      func(target string) bool
	NamesSensitive func(pattern string) bool
	// DenyForms, if set, returns further spellings of a (case-folded)
	// target that the resource would read as the same one: a deny rule
	// that matches any of them denies.
	DenyForms func(target string) []string
}

// PathSyntax is how a kind's path patterns are written: "**" spans
// segments, "*" matches within one.
type PathSyntax struct {
	// Absolute patterns start with "/" (URL paths); others are relative
	// to the resource's root.
	Absolute bool
	// Params lets "{name}" match exactly one segment.
	Params bool
	// Hint shows how patterns are written, for problems.
	Hint string
}

// RuleDraft is one grant or deny rule while its kind decodes it.
type RuleDraft struct {
	// Deny reports a deny rule.
	Deny bool
	// Actions are the rule's actions as written; Decode may add some (a
	// shorthand such as read_only: true).
	Actions []string
	// Constraint, set by Decode, narrows the rule beyond its actions and
	// paths.
	Constraint Constraint
	// Options, set by Decode, are what a grant allows beyond its actions.
	Options GrantOptions
}

// A Constraint narrows what a grant covers beyond its actions and paths:
// a sql grant's tables and columns, an http grant's query parameters.
// Constraints are immutable and safe for concurrent use.
type Constraint interface {
	// Admits reports whether the grant covers target of req. When it does
	// not, why says what is outside the grant, naming only what the agent
	// supplied and what the grant allows ("orders.card_number is not
	// granted; granted on orders: id, total").
	Admits(req *Request, target string) (ok bool, why string)
	// Scope states in words what the constraint allows, for tool
	// descriptions and "policy explain" ("tables orders: id, total"); ""
	// when there is nothing to add.
	Scope() string
}

// Host is what Warden tells a connector about its surroundings when it
// is constructed. The compiled policy stays untouched.
type Host struct {
	// Reserved are absolute paths Warden keeps for itself (its state
	// directory, the policy file, the files secrets are read from): never
	// reachable through any resource.
	Reserved []string
	// Secrets are all the policy's secrets: a connector that returns a
	// window of what it reads (a range of a file, a value a query
	// computed) redacts them with the surroundings in view, so that
	// pieces never add up to a secret.
	Secrets []Secret
}

// HostPath is one file or directory a connector opens after the process
// confined itself.
type HostPath struct {
	Path  string
	Write bool   // read-write; otherwise read-only
	Dir   bool   // a directory and everything below it
	Why   string // for "warden doctor": "resource notes (write)"
}

// DoctorInput is what a kind's Doctor is given.
type DoctorInput struct {
	// Specs are the policy's resources of the kind, in file order.
	Specs []*ResourceSpec
	// Host is what the engine gives connectors.
	Host Host
	// StateDir is Warden's state directory.
	StateDir string
	// Writable reports whether some agent may change a resource.
	Writable func(resource string) bool
	// Needed reports whether some grant of some agent covers an action on
	// a target of a resource (what a login must at least be able to do).
	Needed func(resource, action, target string) bool
}

// Checkup is one block of "warden doctor": a layer of defence and what
// it found.
type Checkup struct {
	Title   string // "database"
	Summary string // what the layer does
	Lines   []CheckLine
}

// CheckLine is one finding. A problem makes doctor exit non-zero.
type CheckLine struct {
	Text    string
	Problem bool
}

// Line adds a finding.
func (c *Checkup) Line(format string, args ...any) {
	c.Lines = append(c.Lines, CheckLine{Text: fmt.Sprintf(format, args...)})
}

// Problem adds a finding that makes doctor exit non-zero.
func (c *Checkup) Problem(format string, args ...any) {
	c.Lines = append(c.Lines, CheckLine{Text: fmt.Sprintf(format, args...), Problem: true})
}

// Command is a kind's own CLI subcommand: "warden NAME VERB ...".
type Command struct {
	Name    string // "sql"
	Summary string // one line for "warden help"
	Help    string // the usage of its verbs
	// Verbs run "warden NAME VERB args...". A usage problem is an error
	// of Kind KindInvalid.
	Verbs map[string]func(env CommandEnv, args []string) error
}

// CommandEnv is what a kind's command runs with.
type CommandEnv struct {
	Ctx            context.Context
	Stdout, Stderr io.Writer
	// Flags returns a flag set for the verb that already holds the policy
	// flags (--policy, --agent).
	Flags func(verb, usage, help string) *flag.FlagSet
	// Load reads the policy the parsed flags name.
	Load func() (PolicyView, error)
}

// PolicyView is what a kind's commands may ask of a compiled policy.
type PolicyView interface {
	Resource(name string) *ResourceSpec
	Agents() []string
	Grants(agent, resource string) []Grant
}

// Grant describes one grant or deny rule, for display and for a kind's
// commands.
type Grant struct {
	Rule        string // "agents.a.grants[0]"
	Position    string // "warden.yaml:12:9"
	Resource    string
	Actions     []string
	Paths       []string
	Approval    bool
	When        string
	Description string
	Constraint  Constraint // nil when the rule has none
	Options     GrantOptions
}
