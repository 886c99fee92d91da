package sqldb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ncruces/go-sqlite3"

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
	New:       connector.Constructor(New),
	Describe:  describeResource,
	HostPaths: hostPaths,
	Doctor:    doctor,
	Commands:  []core.Command{sqlCommand},
	Example:   example,
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
// SQLite's journal beside it) or when the file does not exist yet (Warden
// keeps trying to open a resource that failed at start, and Landlock
// cannot admit a file created later by its own path); nothing for a
// server, reached over the network.
func hostPaths(spec *core.ResourceSpec, writable bool) []core.HostPath {
	cfg, err := configOf(spec)
	if err != nil || cfg.Driver != "sqlite" {
		return nil
	}
	file := cfg.DSN.Reveal()
	if writable {
		return []core.HostPath{{Path: filepath.Dir(file), Write: true, Dir: true, Why: fmt.Sprintf("resource %s (the directory of its SQLite file, write)", spec.Name)}}
	}
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return []core.HostPath{{Path: filepath.Dir(file), Dir: true, Why: fmt.Sprintf("resource %s (the directory of its SQLite file, read, until the file exists)", spec.Name)}}
	}
	return []core.HostPath{{Path: file, Why: fmt.Sprintf("resource %s (its SQLite file, read)", spec.Name)}}
}

// example is a SQLite file with one table: what the contract suite runs
// the kind through, and what "warden policy kinds" shows. There is no
// Missing call: a table that does not exist is refused like one outside
// the grants, so existence does not leak.
var example = core.KindExample{
	Setup: func(dir string) (string, func(), error) {
		c, err := sqlite3.OpenFlags(filepath.Join(dir, "shop.db"), sqlite3.OPEN_READWRITE|sqlite3.OPEN_CREATE)
		if err != nil {
			return "", nil, err
		}
		err = c.Exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, total NUMERIC); INSERT INTO orders VALUES (1, 9.99), (2, 20)")
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", nil, err
		}
		return "{kind: sql, driver: sqlite, dsn: ./shop.db}", func() {}, nil
	},
	Grant: `{actions: [query], tables: {orders: "*"}}`,
	Valid: core.Invocation{Op: OpQuery, Args: []byte(`{"sql":"SELECT id, total FROM orders WHERE id = ?","params":[1]}`)},
	Invalid: []core.Invocation{
		{Op: OpQuery, Args: []byte(`{}`)},
		{Op: OpQuery, Args: []byte(`{"sql":"   "}`)},
		{Op: OpQuery, Args: []byte(`{"sql":"SELECT ?","params":[{"a":1}]}`)},
		{Op: OpExecute, Args: []byte(`{"sql":"SELECT 1"}`)},
	},
}
