package cli

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"warden": func() { os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar: each script is a CLI session
// with the files it needs and the output it expects.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *updateScripts,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("WARDEN_POLICY", "")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// replace FILE OLD NEW rewrites the first occurrence of OLD.
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: replace FILE OLD NEW")
				}
				b, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				if !strings.Contains(string(b), args[1]) {
					ts.Fatalf("%s does not contain %q", args[0], args[1])
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Replace(string(b), args[1], args[2], 1)), 0o644))
			},
			// sqlitedb FILE SQL creates a SQLite database file by running SQL.
			"sqlitedb": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: sqlitedb FILE SQL")
				}
				c, err := sqlite3.Open(ts.MkAbs(args[0]))
				ts.Check(err)
				ts.Check(c.Exec(args[1]))
				ts.Check(c.Close())
			},
			// deleteline FILE N removes line N (1-based).
			"deleteline": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: deleteline FILE N")
				}
				b, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				lines := strings.SplitAfter(string(b), "\n")
				var n int
				for _, c := range args[1] {
					n = n*10 + int(c-'0')
				}
				if n < 1 || n > len(lines) {
					ts.Fatalf("no line %d", n)
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(append(lines[:n-1], lines[n:]...), "")), 0o644))
			},
		},
	})
}
