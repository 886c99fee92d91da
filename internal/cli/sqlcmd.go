package cli

import (
	"fmt"

	"github.com/warden-dev/warden/internal/connector/sqldb"
	"github.com/warden-dev/warden/internal/core"
)

const sqlHelp = `  warden sql grants --resource NAME [--role NAME] [--host HOST] [--policy FILE]
      print the SQL that creates a login able to do what the policy's grants
      on a PostgreSQL or MySQL resource need, and nothing more`

func runSQL(e *env, args []string) int {
	return subcommands(e, "sql", sqlHelp, args, map[string]func(*env, []string) int{
		"grants": runSQLGrants,
	})
}

func runSQLGrants(e *env, args []string) int {
	fs := newFlags(e, "sql grants", "sql grants --resource NAME [--role NAME] [--host HOST] [--policy FILE]",
		`Prints CREATE ROLE/USER and GRANT statements for a login that can read the
columns the policy's query and execute grants name (every agent's), and
insert, update or delete where execute grants allow, and nothing else. Run
them as an administrator, then point the resource's dsn at the new login.
At start, "warden serve" warns when the configured login can do more
(strict_credentials: true refuses to start instead).`)
	var pf policyFlags
	pf.register(fs, false)
	resource := fs.String("resource", "", "the sql resource")
	role := fs.String("role", "", "the login's name (default warden_RESOURCE)")
	host := fs.String("host", "localhost", "MySQL only: the host part of the account")
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 0 || *resource == "" {
		fs.Usage()
		return ExitUsage
	}
	p, _, err := pf.load(e, false)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	var spec *core.ResourceSpec
	for _, s := range p.Resources() {
		if s.Name == *resource {
			spec = s
		}
	}
	if spec == nil || spec.SQL == nil {
		return usageErr(e, "no sql resource %q in the policy", *resource)
	}
	if *role == "" {
		*role = "warden_" + spec.Name
	}
	needs := map[string]*sqldb.Need{}
	for _, a := range p.Agents() {
		for _, g := range p.Grants(a, spec.Name) {
			sqldb.NeedsOf(needs, g.Actions, g.Tables)
		}
	}
	if len(needs) == 0 {
		return usageErr(e, "no grant on %q names a table, so the login needs nothing", spec.Name)
	}
	script, err := sqldb.GrantScript(spec, *role, *host, needs)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	fmt.Fprint(e.stdout, script)
	return ExitOK
}
