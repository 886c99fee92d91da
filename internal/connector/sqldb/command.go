package sqldb

import (
	"fmt"

	"github.com/warden-dev/warden/internal/core"
)

// sqlCommand is "warden sql": commands about the sql resources of a policy.
var sqlCommand = core.Command{
	Name:    "sql",
	Summary: "print the SQL that creates a least-privilege login for a database resource",
	Help: `  warden sql grants --resource NAME [--role NAME] [--host HOST] [--policy FILE]
      print the SQL that creates a login able to do what the policy's grants
      on a PostgreSQL or MySQL resource need, and nothing more`,
	Verbs: map[string]func(core.CommandEnv, []string) error{
		"grants": runGrants,
	},
}

const grantsHelp = `Prints CREATE ROLE/USER and GRANT statements for a login that can read the
columns the policy's query and execute grants name (every agent's), and
insert, update or delete where execute grants allow, and nothing else. Run
them as an administrator, then point the resource's dsn at the new login.
At start, "warden serve" warns when the configured login can do more
(strict_credentials: true refuses to start instead).`

// runGrants is "warden sql grants".
func runGrants(env core.CommandEnv, args []string) error {
	const op = "sql grants"
	usage := func(format string, a ...any) error {
		return core.E(op, core.KindInvalid, "", "", fmt.Errorf(format, a...))
	}
	fs := env.Flags("grants", "sql grants --resource NAME [--role NAME] [--host HOST] [--policy FILE]", grantsHelp)
	resource := fs.String("resource", "", "the sql resource")
	role := fs.String("role", "", "the login's name (default warden_RESOURCE)")
	host := fs.String("host", "localhost", "MySQL only: the host part of the account")
	if err := fs.Parse(args); err != nil {
		return core.E(op, core.KindInvalid, "", "", err)
	}
	switch {
	case fs.NArg() != 0:
		return usage("sql grants takes no arguments, got %q", fs.Args())
	case *resource == "":
		return usage("name the resource: warden sql grants --resource NAME")
	}
	p, err := env.Load()
	if err != nil {
		return err
	}
	spec := p.Resource(*resource)
	if spec == nil || spec.Kind != kindName {
		return usage("no sql resource %q in the policy", *resource)
	}
	if *role == "" {
		*role = "warden_" + spec.Name
	}
	needs := map[string]*Need{}
	for _, a := range p.Agents() {
		for _, g := range p.Grants(a, spec.Name) {
			if t, ok := g.Constraint.(*grantTables); ok {
				NeedsOf(needs, g.Actions, t.Tables())
			}
		}
	}
	if len(needs) == 0 {
		return usage("no grant on %q names a table, so the login needs nothing", spec.Name)
	}
	script, err := GrantScript(spec, *role, *host, needs)
	if err != nil {
		return usage("%v", err)
	}
	_, err = fmt.Fprint(env.Stdout, script)
	return err
}
