package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/connector"
)

const kindsHelp = `  warden policy kinds
      Prints the resource kinds of this build: for each, what it is, its
      actions, the keys of its resource blocks and grants, and an example.`

// runPolicyKinds prints what each compiled-in kind accepts, as the
// policy reference for this build.
func runPolicyKinds(e *env, args []string) int {
	fs := newFlags(e, "policy kinds", "policy kinds", kindsHelp)
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "policy kinds takes no arguments, got %q", pos)
	}
	for i, k := range connector.Kinds() {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprintf(e.stdout, "kind: %s\n  %s\n", k.Name, k.Summary)
		fmt.Fprintf(e.stdout, "  actions: %s\n", strings.Join(k.Actions, ", "))
		if len(k.ReadActions) > 0 {
			fmt.Fprintf(e.stdout, "  read-only actions: %s\n", strings.Join(k.ReadActions, ", "))
		}
		for _, a := range slices.Sorted(maps.Keys(k.Implied)) {
			fmt.Fprintf(e.stdout, "  %s also grants: %s\n", a, strings.Join(k.Implied[a], ", "))
		}
		if len(k.ApprovalByDefault) > 0 {
			fmt.Fprintf(e.stdout, "  approval by default (unless the grant says approval:): %s\n", strings.Join(k.ApprovalByDefault, ", "))
		}
		fmt.Fprintf(e.stdout, "  resource keys: kind, description, %s\n", strings.Join(k.Resource.Keys, ", "))
		grant := []string{"resource", "actions"}
		if k.Rules.Paths != nil {
			grant = append(grant, "paths")
		}
		grant = append(append(grant, k.Rules.GrantKeys...), "approval", "when", "description")
		fmt.Fprintf(e.stdout, "  grant keys: %s\n", strings.Join(grant, ", "))
		if k.Rules.Paths != nil && k.Rules.Paths.Hint != "" {
			fmt.Fprintf(e.stdout, "  paths: %s\n", k.Rules.Paths.Hint)
		}
		if k.Example.Grant != "" {
			fmt.Fprintf(e.stdout, "  example grant: %s\n", k.Example.Grant)
		}
		for _, c := range k.Commands {
			fmt.Fprintf(e.stdout, "  command: warden %s (%s)\n", c.Name, c.Summary)
		}
	}
	return ExitOK
}
