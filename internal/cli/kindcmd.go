package cli

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
)

// kindCommands are the subcommands resource kinds bring ("warden sql
// grants"), as commands of the CLI.
func kindCommands() []command {
	var out []command
	for _, kind := range connector.Kinds() {
		for _, kc := range kind.Commands {
			out = append(out, command{name: kc.Name, summary: kc.Summary, run: func(e *env, args []string) int {
				return runKindCommand(e, kc, args)
			}})
		}
	}
	return out
}

// runKindCommand runs one verb of a kind's command. A usage problem the
// verb reports (core.KindInvalid) exits with ExitUsage, any other failure
// with ExitToolFailed.
func runKindCommand(e *env, kc core.Command, args []string) int {
	subs := map[string]func(*env, []string) int{}
	for _, verb := range slices.Sorted(maps.Keys(kc.Verbs)) {
		run := kc.Verbs[verb]
		subs[verb] = func(e *env, args []string) int {
			var pf policyFlags
			var flags *flag.FlagSet
			env := core.CommandEnv{
				Ctx: e.ctx, Stdout: e.stdout, Stderr: e.stderr,
				Flags: func(name, usageLine, help string) *flag.FlagSet {
					flags = newFlags(e, kc.Name+" "+name, usageLine, help)
					pf.register(flags, false)
					return flags
				},
				Load: func() (core.PolicyView, error) {
					p, _, err := pf.load(e, false)
					if err != nil {
						return nil, err
					}
					return p, nil
				},
			}
			err := run(env, args)
			switch {
			case err == nil:
				return ExitOK
			case errors.Is(err, flag.ErrHelp):
				return ExitUsage
			case core.KindOf(err) == core.KindInvalid:
				// Say what is wrong, then how the verb is used.
				code := usageErr(e, "%v", err)
				if flags != nil {
					fmt.Fprintln(e.stderr)
					flags.Usage()
				}
				return code
			}
			fmt.Fprintf(e.stderr, "warden: %v\n", err)
			return ExitToolFailed
		}
	}
	return subcommands(e, kc.Name, kc.Help, args, subs)
}
