package core

import (
	"sort"
	"strings"
)

// Effect is what a decision does with a call.
//
// The zero value is [Deny]: an unset or forgotten effect fails closed.
type Effect int

const (
	Deny          Effect = iota // the call is refused; the zero value
	Allow                       // the call runs
	NeedsApproval               // the call runs only once a human approves this exact call
)

// String returns the effect as it appears in audit records and CLI output:
// "deny", "allow" or "approval_required".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case NeedsApproval:
		return "approval_required"
	default:
		return "deny"
	}
}

// ParseEffect is the inverse of [Effect.String]. Unknown text yields Deny.
func ParseEffect(s string) Effect {
	switch s {
	case "allow":
		return Allow
	case "approval_required":
		return NeedsApproval
	}
	return Deny
}

// A Reason is a stable, kebab-case code explaining a decision or a failure.
// Codes are part of Warden's interface: once published they keep their meaning.
type Reason string

// Reason codes. Append only; never change the meaning of an existing code.
const (
	ReasonGrant             Reason = "grant"               // a grant matched
	ReasonNoGrant           Reason = "no-matching-grant"   // default deny: nothing granted this
	ReasonDenyRule          Reason = "deny-rule"           // a deny rule matched
	ReasonCondition         Reason = "condition-false"     // a grant matched except for its when: condition
	ReasonConditionError    Reason = "condition-error"     // a when: condition failed to evaluate; fails closed
	ReasonSensitivePath     Reason = "sensitive-path"      // a usually-secret file not named by any grant
	ReasonReservedPath      Reason = "reserved-path"       // Warden's own state or policy file
	ReasonPathEscapes       Reason = "path-escapes-root"   // the path leaves the resource root
	ReasonInvalidPath       Reason = "invalid-path"        // the path is malformed (NUL, absolute, not portable)
	ReasonApprovalRequired  Reason = "approval-required"   // the grant asks a human first
	ReasonApprovalDenied    Reason = "approval-denied"     // a human refused this call
	ReasonApprovalExpired   Reason = "approval-expired"    // the approval ran out before the call came back
	ReasonApproved          Reason = "approved"            // a human approved this exact call
	ReasonApprovalInvalid   Reason = "approval-invalid"    // an approval on file for this call fails its integrity check (forged or edited); fails closed
	ReasonRateLimited       Reason = "rate-limited"        // the agent exceeded its call limit
	ReasonInvalidArguments  Reason = "invalid-arguments"   // the arguments do not fit the tool's schema
	ReasonArgumentsTooLarge Reason = "arguments-too-large" // the arguments exceed the size limit
	ReasonUnknownAgent      Reason = "unknown-agent"       // no such agent in the policy
	ReasonUnknownTool       Reason = "unknown-tool"        // no such tool for this agent
	ReasonNotFound          Reason = "not-found"           // the target does not exist
	ReasonNotRegularFile    Reason = "not-regular-file"    // FIFOs, devices, sockets are refused
	ReasonTooLarge          Reason = "too-large"           // a size limit was hit
	ReasonTimeout           Reason = "timeout"             // a time limit was hit
	ReasonAuditUnavailable  Reason = "audit-unavailable"   // the audit log could not be written; fails closed
	ReasonInternal          Reason = "internal-error"      // a bug or an environment fault; fails closed
	ReasonToolFailed        Reason = "tool-failed"         // the connector ran and reported a failure
	ReasonIsDirectory       Reason = "is-directory"        // a file operation named a directory
	ReasonNotDirectory      Reason = "not-directory"       // a directory operation named a file
	ReasonChanged           Reason = "target-changed"      // the target changed while the call ran; fails closed
	ReasonExists            Reason = "exists"              // the target exists and the call must not replace it
	ReasonNotEmpty          Reason = "not-empty"           // a directory has content and recursive deletion was not asked for
	ReasonNotGranted        Reason = "option-not-granted"  // the call needs a grant option (recursive, hardlinks) the grant lacks
	ReasonHardlinked        Reason = "hard-linked"         // the file has other hard links; writing through it is refused
	ReasonDanglingLink      Reason = "dangling-symlink"    // a symlink to nothing is never a write target
	ReasonNoMatch           Reason = "edit-no-match"       // an edit's old text is not in the file exactly once
	ReasonUndoConflict      Reason = "changed-since"       // undo refused: the file changed after the call
	ReasonSQLRefused        Reason = "sql-refused"         // the statement is not one statement of a granted kind, or uses a construct outside the allowlist
	ReasonRequestRefused    Reason = "request-refused"     // the HTTP request leaves its base URL, or is malformed (encoded slashes, CR/LF, forbidden headers)
	ReasonAddressBlocked    Reason = "address-blocked"     // the address a connection would go to is loopback, private, link-local, metadata or another non-public range
	ReasonRedirectRefused   Reason = "redirect-refused"    // a redirect leads outside the base URL, the grants, or downgrades TLS, or there are too many
	ReasonUpstreamFailed    Reason = "upstream-failed"     // the HTTP API could not be reached or broke off (not a refusal)
	ReasonDiskFull          Reason = "disk-full"           // the file system is full: writes are refused, reads and deletes go on

	// The resource could not be opened (yet); Warden keeps trying.
	ReasonResourceUnavailable Reason = "resource-unavailable"
)

// Decision is the policy's answer for one request: an effect, the rule that
// decided, and why. Decisions are values; the zero Decision denies.
type Decision struct {
	Effect Effect
	// Rule identifies the policy rule that decided, such as
	// "agents.assistant.grants[1]" or "agents.assistant.deny[0]".
	// It is empty when the default (deny) applied.
	Rule string
	// Position is the rule's place in the policy file, "file:line:col", or "".
	Position string
	// Reasons are stable codes, most significant first.
	Reasons []Reason
	// Options are what the deciding grant allows beyond its actions. The
	// zero value allows nothing extra.
	Options GrantOptions
	// Why, for a denial, says what a grant that matched the target's path
	// did not cover ("orders.card_number is not granted; granted on
	// orders: id, total"), naming only what the agent supplied and what
	// the grant allows; "" when no grant came that close.
	Why string
}

// GrantOptions are what a grant allows beyond its actions: flags its kind
// defines ("recursive": a delete may remove a whole tree) and caps that
// lower a resource's own limits ("max_rows": 500). Connectors enforce them,
// because only they know what a call will touch. The zero value allows
// nothing extra and caps nothing. Options are values: methods return new
// ones and never change their receiver.
//
// Its fields are unexported so that no holder (a connector given a call's
// options) can change the compiled policy's grants through them.
type GrantOptions struct {
	flags []string         // sorted, unique
	caps  map[string]int64 // positive
}

// Has reports whether the options hold flag.
func (o GrantOptions) Has(flag string) bool {
	for _, f := range o.flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Cap returns the cap called name, or 0 when there is none.
func (o GrantOptions) Cap(name string) int64 { return o.caps[name] }

// IsZero reports whether the options allow nothing extra and cap nothing.
func (o GrantOptions) IsZero() bool { return len(o.flags) == 0 && len(o.caps) == 0 }

// WithFlag returns o with flag added.
func (o GrantOptions) WithFlag(flag string) GrantOptions {
	if o.Has(flag) {
		return o
	}
	flags := append(append([]string(nil), o.flags...), flag)
	sort.Strings(flags)
	return GrantOptions{flags: flags, caps: o.caps}
}

// WithCap returns o with the cap called name set to v (positive).
func (o GrantOptions) WithCap(name string, v int64) GrantOptions {
	caps := make(map[string]int64, len(o.caps)+1)
	for k, c := range o.caps {
		caps[k] = c
	}
	caps[name] = v
	return GrantOptions{flags: o.flags, caps: caps}
}

// Union adds up the options of several grants that all match one target:
// a flag any of them holds, and a cap only where every one of them caps
// (the largest, since each grant alone would allow that much).
func (o GrantOptions) Union(b GrantOptions) GrantOptions {
	out := GrantOptions{flags: o.flags}
	for _, f := range b.flags {
		out = out.WithFlag(f)
	}
	for k, c := range o.caps {
		if bc, ok := b.caps[k]; ok {
			out = out.WithCap(k, max(c, bc))
		}
	}
	return out
}

// Intersect keeps what the grants of every target of one call allow: the
// flags all of them hold, and each cap any of them sets (the smallest).
func (o GrantOptions) Intersect(b GrantOptions) GrantOptions {
	var out GrantOptions
	for _, f := range o.flags {
		if b.Has(f) {
			out = out.WithFlag(f)
		}
	}
	for k, c := range o.caps {
		if bc, ok := b.caps[k]; ok {
			c = min(c, bc)
		}
		out = out.WithCap(k, c)
	}
	for k, c := range b.caps {
		if _, ok := o.caps[k]; !ok {
			out = out.WithCap(k, c)
		}
	}
	return out
}

// Allowed reports whether the decision lets the call run without a human.
func (d Decision) Allowed() bool { return d.Effect == Allow }

// Reason returns the most significant reason code, or "" if none.
func (d Decision) Reason() Reason {
	if len(d.Reasons) == 0 {
		return ""
	}
	return d.Reasons[0]
}

// String renders the decision for logs: "deny (deny-rule) by agents.a.deny[0]".
func (d Decision) String() string {
	var b strings.Builder
	b.WriteString(d.Effect.String())
	if len(d.Reasons) > 0 {
		b.WriteString(" (")
		for i, r := range d.Reasons {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(string(r))
		}
		b.WriteString(")")
	}
	if d.Rule != "" {
		b.WriteString(" by ")
		b.WriteString(d.Rule)
	}
	return b.String()
}
