package sqldb

import (
	"fmt"
	"path/filepath"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
)

// kindName is the kind as a policy writes it: "kind: sql".
const kindName = "sql"

// Kind is the sql resource kind: what the rest of Warden knows of it.
var Kind = &core.ResourceKind{
	Name:    kindName,
	Summary: "a SQL database (SQLite, PostgreSQL or MySQL)",
	Actions: []string{"query", "execute", "ddl"},
	// query runs in read-only transactions; execute and ddl change data
	// or structure, so their grants ask a human unless they say approval:.
	ReadActions:       []string{"query"},
	ApprovalByDefault: []string{"execute", "ddl"},
	Resource: core.ResourceSyntax{
		Keys:   []string{"driver", "dsn", "strict_credentials", "limits"},
		Decode: decodeResource,
	},
	Rules: core.RuleSyntax{
		GrantKeys: []string{"tables", "max_rows"},
		DenyKeys:  nil,
		Decode:    decodeRule,
	},
	New: func(spec *core.ResourceSpec, host core.Host) (core.Connector, error) {
		c, err := New(spec, host)
		if err != nil {
			return nil, err
		}
		return c, nil
	},
	Describe:  describeResource,
	HostPaths: hostPaths,
	Doctor:    doctor,
	Commands:  []core.Command{sqlCommand},
}

func init() { connector.Register(Kind) }

// describeResource says what the resource is, after its name in tool
// descriptions: "a postgres database".
func describeResource(spec *core.ResourceSpec) string {
	cfg, err := configOf(spec)
	if err != nil {
		return "a database"
	}
	return "a " + cfg.Driver + " database"
}

// hostPaths are what a resource opens once the process confined itself:
// its SQLite file, or the file's directory when some agent may write (for
// SQLite's journal beside it); nothing for a server, reached over the
// network.
func hostPaths(spec *core.ResourceSpec, writable bool) []core.HostPath {
	cfg, err := configOf(spec)
	if err != nil || cfg.Driver != "sqlite" {
		return nil
	}
	file := cfg.DSN.Reveal()
	if writable {
		return []core.HostPath{{Path: filepath.Dir(file), Write: true, Dir: true, Why: fmt.Sprintf("resource %s (the directory of its SQLite file, write)", spec.Name)}}
	}
	return []core.HostPath{{Path: file, Why: fmt.Sprintf("resource %s (its SQLite file, read)", spec.Name)}}
}
