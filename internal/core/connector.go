package core

import (
	"context"
	"encoding/json"
)

// Connector gives agents guarded access to one resource. Each resource kind
// has its own connector package behind this interface.
//
// The lifecycle is: construct with the kind's New (no side effects) → Open
// (if the connector implements [Opener]) → any number of concurrent
// Prepare/Execute pairs → Close (if it implements io.Closer).
//
// Prepare and Execute must be safe for concurrent use.
type Connector interface {
	// Operations lists the tools this connector offers, in a stable order.
	Operations() []Operation

	// Prepare decodes arguments that already passed the operation's schema
	// and normalises the target into inv.Path (and inv.Paths), so the policy
	// decides on what will really be touched. It may read metadata, such as
	// symlinks, but must change nothing. Failures that depend on what exists
	// (a missing file) should be left to Execute, so that they are reported
	// only after the policy allowed the target: errors must not reveal what
	// exists where the agent may not look.
	Prepare(ctx context.Context, inv *Invocation) error

	// Execute runs a prepared, allowed invocation. scope answers whether
	// further targets found during execution (directory entries, search
	// hits) are visible to the agent.
	Execute(ctx context.Context, inv *Invocation, scope Scope) (*Result, error)
}

// Opener is implemented by connectors that acquire resources (open a root,
// dial a database) before use. Open must be idempotent.
type Opener interface {
	Open(ctx context.Context) error
}

// Previewer is implemented by connectors that can show what an allowed call
// would change without changing it (a sql statement run in a transaction
// that is rolled back). The engine shows the preview to the human asked to
// approve the call.
type Previewer interface {
	Preview(ctx context.Context, inv *Invocation) (string, error)
}

// PrivilegeChecker is implemented by connectors whose login can be
// compared with what the policy needs (database roles). needed reports
// whether some grant of some agent covers an action on a target.
type PrivilegeChecker interface {
	CheckPrivileges(ctx context.Context, needed func(action, target string) bool) (PrivilegeReport, error)
}

// PrivilegeReport is what a [PrivilegeChecker] found.
type PrivilegeReport struct {
	// Findings name what the login can do beyond what the grants need,
	// one sentence each.
	Findings []string
	// Strict, when set, names the setting that forbids serving the
	// resource while there are findings or while the check cannot be made
	// ("strict_credentials").
	Strict string
	// Fix is a command that prints a login with just the privileges
	// needed ("warden sql grants --resource shop"), or "".
	Fix string
}

// Operation describes one tool of a connector.
type Operation struct {
	// Name is the operation, such as "read"; the tool is "<resource>_<Name>".
	Name string
	// Action is the policy action the call needs, such as "read". An
	// operation whose action depends on its arguments (an HTTP request's
	// method) leaves it empty and lists the candidates in Actions; its
	// Prepare then sets [Invocation.Action].
	Action string
	// Actions are the actions an operation with an empty Action may take.
	// The tool is offered when a grant covers any of them.
	Actions []string
	// ReadOnlyActions are those of Actions that change nothing (GET, HEAD).
	// A tool whose agent holds only these is announced as read-only.
	ReadOnlyActions []string
	// Target, when set, is the one target every call of the operation has
	// (a URL path template such as "/v1/users/{id}"). The tool is offered
	// only when a grant could cover it.
	Target string
	// Summary is one sentence describing what the tool does.
	Summary string
	// InputSchema is a JSON Schema (draft 2020-12) object for the arguments.
	InputSchema json.RawMessage
	// ReadOnly reports whether the operation never changes the resource.
	ReadOnly bool
	// OpenWorld reports that the operation reaches beyond the host, to
	// services that may change without Warden (an API on the internet).
	OpenWorld bool
	// KeyArgs name the arguments that say what a call does ("path",
	// "sql"): they stay whole in the audit record, and those that are
	// strings are quoted, in this order, in the one line an approver sees.
	KeyArgs []string
	// TargetArg names the argument a denial quotes as the call's target
	// ("path"), or "".
	TargetArg string
}

// Invocation is one call of an operation as it moves through the pipeline.
type Invocation struct {
	Op   string
	Args json.RawMessage
	// Values are Args as the engine decoded and checked them (no repeated
	// key, within the bounds, valid against the operation's schema).
	// Connectors decode their typed arguments from them with
	// argjson.Decode, which decodes Args itself when Values is nil (a
	// connector called directly), so the JSON is parsed once.
	Values map[string]any
	// Path and Paths are the normalised targets, set by Prepare.
	Path  string
	Paths []string
	// Action is the call's policy action, set by Prepare when the
	// operation's depends on the arguments; it must be one of the
	// operation's Actions.
	Action string
	// ReadOnly, set by Prepare, reports that this call changes nothing
	// even though its operation may (an HTTP GET through a tool that can
	// also POST).
	ReadOnly bool
	// Detail is what the call sends besides its action and targets, in
	// the kind's own form, for its grants' constraints ([Request.Detail]);
	// set by Prepare, or nil.
	Detail any
	// State is the connector's own decoded form of the call, set by Prepare.
	State any
	// Journal, set by the engine before Execute for operations that are not
	// read-only, keeps what the call replaces. Connectors must record every
	// change in it before making it.
	Journal Journal
	// Options, set by the engine from the decision before Execute, are what
	// the grant allows beyond its action.
	Options GrantOptions
}

// Scope reports whether a target found while executing is visible to the
// agent under the same action. It must be cheap: it runs once per entry. A
// nil Scope shows nothing.
type Scope interface {
	Visible(path string) bool
}

// ScopeFunc adapts a function to [Scope].
type ScopeFunc func(path string) bool

// Visible calls f.
func (f ScopeFunc) Visible(path string) bool { return f(path) }
