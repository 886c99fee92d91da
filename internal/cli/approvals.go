package cli

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/redact"
	"github.com/warden-dev/warden/internal/textsafe"
)

const approvalsHelp = `Lists calls that wait for a human. "warden approvals show ID" prints one
call's arguments in full, every byte the approval covers. Approve one with
"warden approve ID" or refuse it with "warden deny ID"; the agent then makes
the same call again and it runs exactly once. Approvals expire (10 minutes
by default).`

type stateFlags struct {
	policyFlags
	state string
}

func (sf *stateFlags) register(e *env, fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&sf.file, "policy", "", "policy `file` whose state directory to use (default $WARDEN_POLICY, else ./warden.yaml)")
	fs.StringVar(&sf.state, "state", "", "state `dir` (default: the policy's state_dir, else ./.warden)")
}

// state is what commands that work on the state directory need.
type state struct {
	dir   string
	audit audit.Options // the policy's key and redactor, so records chain correctly
	ttl   time.Duration
}

// openState finds the state directory and, when a policy is available, the
// audit key and secrets it configures.
func openState(e *env, sf *stateFlags) (*state, error) {
	st := &state{dir: sf.state}
	p, _, err := sf.load(e, true)
	switch {
	case err == nil:
		if st.dir == "" {
			st.dir = p.Settings().StateDir
		}
		var values []string
		for _, s := range p.Secrets() {
			values = append(values, s.Reveal())
		}
		st.audit.Redactor = redact.New(values...)
		if k := p.Settings().AuditKey.Reveal(); k != "" {
			st.audit.Key = []byte(k)
		}
		st.ttl = p.Settings().ApprovalTTL
	case st.dir == "":
		return nil, err
	}
	return st, nil
}

func openApprovals(e *env, sf *stateFlags) (*approval.Store, *state, error) {
	st, err := openState(e, sf)
	if err != nil {
		return nil, nil, err
	}
	// Sealed with the audit key, like the server's, and every decision is
	// in the audit log before it is saved.
	s, err := approval.Open(st.dir, approval.Options{TTL: st.ttl, Key: st.audit.Key, Record: func(a *approval.Approval) (string, error) {
		return appendDecisionRecord(e.ctx, st, a)
	}})
	return s, st, err
}

func runApprovals(e *env, args []string) int {
	if len(args) > 0 && args[0] == "show" {
		return runApprovalShow(e, args[1:])
	}
	fs := newFlags(e, "approvals", "approvals [show ID] [--all] [--json] [--policy FILE | --state DIR]", approvalsHelp)
	var sf stateFlags
	sf.register(e, fs)
	all := fs.Bool("all", false, "include decided, used and expired approvals")
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "approvals takes no arguments, got %q", pos)
	}
	store, _, err := openApprovals(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	f := approval.ListFilter{}
	if !*all {
		f.Status = []approval.Status{approval.StatusPending}
	}
	list, err := store.List(f)
	if err != nil && list == nil {
		return usageErr(e, "%v", err)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: warning: %v\n", err)
	}
	if *asJSON {
		if list == nil {
			list = []*approval.Approval{}
		}
		printJSON(e, list)
		return ExitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(e.stdout, "no pending approvals")
		return ExitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tAGENT\tCALL\tEXPIRES")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Status, a.Agent, a.Summary, a.Expires.Local().Format(time.TimeOnly))
	}
	tw.Flush()
	for _, a := range list {
		if a.Status == approval.StatusPending {
			fmt.Fprintf(e.stdout, "\n%s arguments: %s\n", a.ID, textsafe.Printable(textsafe.Clip(string(a.Args), listArgBytes)))
			if len(a.Args) > listArgBytes || len(a.Blobs) > 0 {
				fmt.Fprintf(e.stdout, "  (shortened here; \"warden approvals show %s\" prints every byte)\n", a.ID)
			}
		}
	}
	return ExitOK
}

func runApprove(e *env, args []string) int { return decide(e, "approve", true, args) }
func runDeny(e *env, args []string) int    { return decide(e, "deny", false, args) }

func decide(e *env, name string, approve bool, args []string) int {
	fs := newFlags(e, name, name+" ID [--note TEXT] [--policy FILE | --state DIR]", approvalsHelp)
	var sf stateFlags
	sf.register(e, fs)
	note := fs.String("note", "", "a note kept with the decision")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 {
		fs.Usage()
		return ExitUsage
	}
	store, _, err := openApprovals(e, &sf)
	if err != nil {
		return fail(e, err)
	}
	by := "cli"
	if u, err := user.Current(); err == nil {
		by = "cli:" + u.Username
	}
	// The store writes the decision's audit record before saving it; a
	// decision that cannot be audited is not made.
	a, err := store.Decide(pos[0], approve, by, *note)
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: %v\n", err)
		if errors.Is(err, approval.ErrNotFound) {
			return ExitUsage
		}
		return ExitToolFailed
	}
	verb := "approved"
	if !approve {
		verb = "denied"
	}
	fmt.Fprintf(e.stdout, "%s %s: %s (agent %s)\n", verb, a.ID, a.Summary, a.Agent)
	if approve {
		fmt.Fprintf(e.stdout, "The agent's identical call will now run once, until %s.\n", a.Expires.Local().Format(time.TimeOnly))
	}
	return ExitOK
}

// appendDecisionRecord writes a decision's audit record and returns its ID.
func appendDecisionRecord(ctx context.Context, st *state, a *approval.Approval) (string, error) {
	log, err := audit.Open(st.dir, st.audit)
	if err != nil {
		return "", err
	}
	stored, err := log.Append(ctx, engine.DecisionRecord(a))
	if cerr := log.Close(); err == nil && cerr != nil {
		return "", cerr // not durable, so not recorded
	}
	if err != nil {
		return "", err
	}
	return stored.ID, nil
}
