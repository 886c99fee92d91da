package cli

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
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
			// httpupstream VAR starts an HTTP server on 127.0.0.1 for the
			// rest of the script and sets VAR to its URL and VAR_PORT to
			// its port. It answers every
			// request with JSON echoing the method, path, query, headers
			// and body, so scripts can show what Warden really sent.
			"httpupstream": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: httpupstream VAR")
				}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
					w.Header().Set("Content-Type", "application/json")
					json.NewEncoder(w).Encode(map[string]any{
						"method": r.Method, "path": r.URL.EscapedPath(), "query": r.URL.Query(),
						"headers": r.Header, "body": string(body),
					})
				}))
				ts.Defer(srv.Close)
				ts.Setenv(args[0], srv.URL)
				ts.Setenv(args[0]+"_PORT", srv.URL[strings.LastIndexByte(srv.URL, ':')+1:])
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
