package cli

import (
	"flag"
	"fmt"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

const undoHelp = `Restores exactly what one call changed (content, mode, presence), using the
journal Warden keeps of everything a write, edit, move or delete replaces.
AUDIT_ID is the audit_id the call returned (or from "warden audit show").
Undo refuses, saying which paths, if a file changed after the call, unless
--force. An undo is itself audited and journaled, so it can be undone.`

func runUndo(e *env, args []string) int {
	fs := newFlags(e, "undo", "undo AUDIT_ID [--force] [--policy FILE]", undoHelp)
	var pf policyFlags
	pf.register(fs, false)
	force := fs.Bool("force", false, "undo even if the files changed since the call")
	arg, eng, code := parseOneAndOpen(e, fs, &pf, args)
	if eng == nil {
		return code
	}
	defer eng.Close()
	by := "cli"
	if u, err := user.Current(); err == nil {
		by = "cli:" + u.Username
	}
	out := eng.Undo(e.ctx, arg, by, *force)
	printJSON(e, outputOf(out))
	return exitCode(out.Status)
}

const historyHelp = `Lists the journaled versions of a path: every call that created, replaced,
moved or removed it, newest first, with the audit ID to give "warden undo".
PATH is relative to the resource's root, or an absolute path inside it.`

func runHistory(e *env, args []string) int {
	fs := newFlags(e, "history", "history PATH [--resource NAME] [--policy FILE]", historyHelp)
	var pf policyFlags
	pf.register(fs, false)
	resource := fs.String("resource", "", "the fs resource (optional when there is one)")
	arg, eng, code := parseOneAndOpen(e, fs, &pf, args)
	if eng == nil {
		return code
	}
	defer eng.Close()
	res, rel, err := resolveHistoryPath(eng.Policy().Resources(), *resource, arg)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	entries, err := eng.History(res, rel)
	if err != nil && len(entries) == 0 {
		return usageErr(e, "%v", err)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: warning: %v\n", err)
	}
	if len(entries) == 0 {
		fmt.Fprintf(e.stdout, "no journaled changes of %s in %q\n", rel, res)
		return ExitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AUDIT ID\tTIME\tAGENT\tTOOL\tCHANGE")
	for _, en := range entries {
		for _, c := range en.Changes {
			if !touches(c, rel) {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", en.ID, en.Time.Local().Format("2006-01-02 15:04:05"), en.Agent, en.Tool, describeChange(c))
		}
	}
	tw.Flush()
	return ExitOK
}

// parseOneAndOpen parses args, which must hold exactly one argument, and
// opens the engine; without an engine, code is the exit code.
func parseOneAndOpen(e *env, fs *flag.FlagSet, pf *policyFlags, args []string) (arg string, eng *engine.Engine, code int) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", nil, ExitUsage
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", nil, ExitUsage
	}
	eng, _, err = openEngine(e, pf, true, false, nil)
	if err != nil {
		return "", nil, fail(e, err)
	}
	return pos[0], eng, ExitOK
}

// resolveHistoryPath picks the journaled resource (one whose kind maps
// host paths to its targets, such as a directory) and the target within
// it: an absolute host path is looked up in every such resource, a
// relative one is taken as a target of the only one, or of name.
func resolveHistoryPath(specs []*core.ResourceSpec, name, p string) (string, string, error) {
	type journaled struct {
		spec *core.ResourceSpec
		kind *core.ResourceKind
	}
	var candidates []journaled
	for _, s := range specs {
		if k := connector.Lookup(s.Kind); k != nil && k.HostTarget != nil && (name == "" || s.Name == name) {
			candidates = append(candidates, journaled{s, k})
		}
	}
	if len(candidates) == 0 {
		if name != "" {
			return "", "", fmt.Errorf("no resource %q with a journal in the policy", name)
		}
		return "", "", fmt.Errorf("no resource in the policy keeps a journal")
	}
	if filepath.IsAbs(p) {
		for _, c := range candidates {
			if target, ok := c.kind.HostTarget(c.spec, p); ok {
				return c.spec.Name, target, nil
			}
		}
		return "", "", fmt.Errorf("%s is not inside any resource's root", p)
	}
	if len(candidates) > 1 {
		return "", "", fmt.Errorf("several resources keep a journal; choose one with --resource")
	}
	return candidates[0].spec.Name, filepath.ToSlash(filepath.Clean(p)), nil
}

func touches(c core.Change, p string) bool {
	under := func(x string) bool { return x == p || strings.HasPrefix(p, x+"/") }
	return under(c.Path) || (c.To != "" && under(c.To))
}

func describeChange(c core.Change) string {
	size := func(s core.ObjectState) string {
		if !s.Exists() {
			return "nothing"
		}
		if s.Type == "file" {
			return fmt.Sprintf("%s %d bytes %s", s.Type, s.Size, shortHash(s.SHA256))
		}
		return s.Type
	}
	switch c.Op {
	case "move":
		return fmt.Sprintf("move %s → %s", c.Path, c.To)
	default:
		return fmt.Sprintf("%s %s: %s → %s", c.Op, c.Path, size(c.Before), size(c.After))
	}
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
