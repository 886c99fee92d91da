package policy

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/glob"
)

// Policy is a compiled policy file. It is immutable and safe for concurrent
// use; Evaluate does no I/O.
type Policy struct {
	source    string
	baseDir   string
	settings  Settings
	resources map[string]*resource
	resOrder  []string
	agents    map[string]*agent
	agOrder   []string
	secrets   []core.Secret
	// secretFiles are the absolute paths of file: secret references.
	secretFiles []string
	warnings    []*Problem
}

// Settings are the policy's process-wide options.
type Settings struct {
	// StateDir holds the audit log, approvals and journals. Absolute.
	// Default: ".warden" beside the policy file.
	StateDir string
	// ApprovalTTL is how long a pending or approved call stays valid.
	// Default 10 minutes.
	ApprovalTTL time.Duration
	// Elicitation asks for approval inside the MCP client when it supports
	// elicitation. Default true.
	Elicitation bool
	// AuditSync is "interval" (fsync at most once a second; default) or
	// "always" (fsync every record before the call returns).
	AuditSync string
	// AuditKey, when set, turns the audit chain's SHA-256 into HMAC-SHA-256.
	AuditKey core.Secret
	// MaxArgumentBytes bounds a call's JSON arguments. Default 256 KiB.
	MaxArgumentBytes int64
	// MaxResultBytes bounds a call's encoded result. Default 4 MiB.
	MaxResultBytes int64
	// JournalMaxBytes and JournalMaxAge bound the journal of replaced
	// content that undo uses. Defaults 1 GiB and 30 days.
	JournalMaxBytes int64
	JournalMaxAge   time.Duration
	// Landlock restricts the serving process to the paths it needs where
	// the kernel supports it. Default true.
	Landlock bool
	// StrictResources refuses to start when a resource cannot be opened
	// (a missing SQLite file, a database not up yet). Default false: the
	// others are served, and the engine tries the failed one again in the
	// background, offering its tools once it opens.
	StrictResources bool
	// TLSInspection, when set (egress.tls_inspection), makes the egress
	// proxy terminate the TLS of tunnels to granted hosts with leaf
	// certificates signed by this CA, so every rule applies inside them.
	TLSInspection *TLSInspection
}

// TLSInspection is the CA the egress proxy signs leaf certificates with.
type TLSInspection struct {
	CertPEM []byte      // the CA certificate, PEM
	Key     core.Secret // the CA's private key, PEM
}

// Defaults for [Settings].
const (
	DefaultApprovalTTL      = 10 * time.Minute
	DefaultMaxArgumentBytes = 256 << 10
	DefaultMaxResultBytes   = 4 << 20
	DefaultJournalMaxBytes  = 1 << 30
	DefaultJournalMaxAge    = 30 * 24 * time.Hour
)

type resource struct {
	spec *core.ResourceSpec
	kind *core.ResourceKind
}

type agent struct {
	name        string
	description string
	token       core.Secret
	limits      AgentLimits
	grants      []*rule
	denies      []*rule
	// index maps resource → action → the rules that can apply, in file order.
	index map[string]map[string]*ruleSet
	// allowDegraded are the sandbox layers warden run may go without
	// (agents.NAME.sandbox.allow_degraded).
	allowDegraded []string
}

// AgentLimits bound an agent's calls.
type AgentLimits struct {
	// CallsPerMinute caps calls over a sliding minute; 0 means no limit.
	CallsPerMinute int
}

type ruleSet struct {
	kind   *core.ResourceKind
	denies ruleIndex
	grants ruleIndex
}

// rule is a compiled grant or deny entry.
type rule struct {
	order    int // position among the agent's rules, for file order
	id       string
	pos      Pos
	position string // pos.String(), computed once
	deny     bool
	resource string
	kind     *core.ResourceKind
	actions  []string // as written, expanded with implied actions
	paths    []*glob.Pattern
	named    []bool // per path pattern: whether it names sensitive targets
	approval bool
	// approvalSet records that the grant says approval: explicitly; where
	// it does not, the kind's ApprovalByDefault actions need approval.
	approvalSet bool
	cond        *condition
	description string
	// constraint narrows the rule beyond actions and paths (its kind's
	// own keys); nil when it has none.
	constraint core.Constraint
	options    core.GrantOptions
}

// Source returns the policy file's name as given to Compile.
func (p *Policy) Source() string { return p.source }

// BaseDir returns the directory relative paths in the policy resolve against.
func (p *Policy) BaseDir() string { return p.baseDir }

// Settings returns the process-wide options.
func (p *Policy) Settings() Settings { return p.settings }

// Warnings returns problems that do not stop the policy from loading.
func (p *Policy) Warnings() []*Problem { return slices.Clone(p.warnings) }

// Secrets returns every secret the policy loaded, so they can be redacted.
func (p *Policy) Secrets() []core.Secret { return slices.Clone(p.secrets) }

// SecretFiles returns the absolute paths of the files that secret
// references name, so no resource exposes them.
func (p *Policy) SecretFiles() []string { return slices.Clone(p.secretFiles) }

// Resources returns the resources in file order.
func (p *Policy) Resources() []*core.ResourceSpec {
	out := make([]*core.ResourceSpec, 0, len(p.resOrder))
	for _, name := range p.resOrder {
		out = append(out, p.resources[name].spec)
	}
	return out
}

// Resource returns a resource by name, or nil.
func (p *Policy) Resource(name string) *core.ResourceSpec {
	if r := p.resources[name]; r != nil {
		return r.spec
	}
	return nil
}

// Agents returns the agent names in file order.
func (p *Policy) Agents() []string { return slices.Clone(p.agOrder) }

// HasAgent reports whether the policy declares the agent.
func (p *Policy) HasAgent(name string) bool { return p.agents[name] != nil }

// AgentLimits returns an agent's limits.
func (p *Policy) AgentLimits(name string) AgentLimits {
	if a := p.agents[name]; a != nil {
		return a.limits
	}
	return AgentLimits{}
}

// AgentAllowDegraded returns the sandbox layers ("landlock", "seccomp")
// the policy lets warden run go without for the agent, where the host
// lacks them.
func (p *Policy) AgentAllowDegraded(name string) []string {
	if a := p.agents[name]; a != nil {
		return slices.Clone(a.allowDegraded)
	}
	return nil
}

// AgentToken returns the bearer token that identifies the agent over HTTP,
// or a zero Secret if it has none.
func (p *Policy) AgentToken(name string) core.Secret {
	if a := p.agents[name]; a != nil {
		return a.token
	}
	return core.Secret{}
}

// Grant describes one grant for display (tool descriptions, explain).
type Grant = core.Grant

// Grants returns an agent's grants on a resource ("" for all), in file order.
func (p *Policy) Grants(agentName, resourceName string) []Grant {
	return p.describe(agentName, resourceName, false)
}

// Denies returns an agent's deny rules on a resource ("" for all).
func (p *Policy) Denies(agentName, resourceName string) []Grant {
	return p.describe(agentName, resourceName, true)
}

func (p *Policy) describe(agentName, resourceName string, deny bool) []Grant {
	a := p.agents[agentName]
	if a == nil {
		return nil
	}
	rules := a.grants
	if deny {
		rules = a.denies
	}
	var out []Grant
	for _, r := range rules {
		if resourceName != "" && r.resource != resourceName {
			continue
		}
		g := Grant{
			Rule: r.id, Position: r.position, Resource: r.resource,
			Actions: slices.Clone(r.actions), Approval: r.approval,
			Description: r.description, Constraint: r.constraint,
			Options: r.options,
		}
		for _, pat := range r.paths {
			g.Paths = append(g.Paths, pat.String())
		}
		if r.cond != nil {
			g.When = r.cond.src
		}
		out = append(out, g)
	}
	return out
}

// Actions returns the actions an agent holds any grant for on a resource.
func (p *Policy) Actions(agentName, resourceName string) []string {
	a := p.agents[agentName]
	if a == nil {
		return nil
	}
	var out []string
	for action, rs := range a.index[resourceName] {
		if rs.grants.n > 0 {
			out = append(out, action)
		}
	}
	slices.Sort(out)
	return out
}

// Load reads and compiles a policy file. Relative paths in it resolve
// against the file's directory.
func Load(path string, opts ...Option) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// Read one byte past the bound, so Compile reports an oversized file
	// without it ever being held whole.
	src, err := io.ReadAll(io.LimitReader(f, MaxPolicyBytes+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	all := append([]Option{WithSource(path), WithBaseDir(filepath.Dir(abs))}, opts...)
	return Compile(src, all...)
}

// Option configures Compile.
type Option func(*options)

type options struct {
	source    string
	baseDir   string
	lookupEnv func(string) (string, bool)
}

// WithSource names the policy in positions ("warden.yaml:12:5").
func WithSource(name string) Option { return func(o *options) { o.source = name } }

// WithBaseDir sets the directory relative paths resolve against. Default:
// the working directory.
func WithBaseDir(dir string) Option { return func(o *options) { o.baseDir = dir } }

// WithLookupEnv replaces os.LookupEnv for env: secret references.
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = f }
}
