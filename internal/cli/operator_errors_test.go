package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/sqltest"
)

// TestOperatorErrors_BadCredentials runs warden against a real database
// server with a wrong password: the operator reads one line with the
// resource's position, the server, the login and the cause, never the
// password, and the exit code follows the table (1 for the call, 5 with
// --strict, 1 from doctor). A script cannot start a server, so this is Go.
func TestOperatorErrors_BadCredentials(t *testing.T) {
	servers := []struct {
		driver string
		server func(testing.TB) *sqltest.Server
		dsn    func(srv *sqltest.Server, db *sqltest.DB) string
		want   func(srv *sqltest.Server, db *sqltest.DB) string
	}{
		{"postgres", sqltest.Postgres,
			func(srv *sqltest.Server, db *sqltest.DB) string {
				return fmt.Sprintf("postgres://%s:wrong-s3cret@%s:%d/%s?sslmode=disable", db.Reader, srv.Host, srv.Port, db.Name)
			},
			func(srv *sqltest.Server, db *sqltest.DB) string {
				return fmt.Sprintf("PostgreSQL at %s:%d refused the login of user %s: password authentication failed", srv.Host, srv.Port, db.Reader)
			}},
		{"mysql", sqltest.MariaDB,
			func(srv *sqltest.Server, db *sqltest.DB) string {
				return fmt.Sprintf("%s:wrong-s3cret@tcp(%s:%d)/%s", db.Reader, srv.Host, srv.Port, db.Name)
			},
			func(srv *sqltest.Server, db *sqltest.DB) string {
				return fmt.Sprintf("MySQL at %s:%d refused the login of user %s: access denied", srv.Host, srv.Port, db.Reader)
			}},
	}
	for _, s := range servers {
		t.Run(s.driver, func(t *testing.T) {
			srv := s.server(t)
			t.Cleanup(sqltest.StopAll)
			db := srv.NewDatabase(t, sqltest.CorpusFixture)
			t.Setenv("WARDEN_TEST_DSN", s.dsn(srv, db))
			dir := t.TempDir()
			policyFile := filepath.Join(dir, "warden.yaml")
			src := "version: 1\nsettings:\n  landlock: false\nresources:\n  shop: {kind: sql, driver: " + s.driver + ", dsn: env:WARDEN_TEST_DSN}\n" +
				"agents:\n  bot:\n    grants:\n      - {resource: shop, actions: [query], tables: {orders: \"*\"}}\n"
			if err := os.WriteFile(policyFile, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("warden: %s:5:3: resource \"shop\": %s\n", policyFile, s.want(srv, db))
			tests := []struct {
				args       []string
				wantCode   int
				wantStderr string
				wantStdout string
			}{
				{[]string{"call", "--policy", policyFile, "shop_query", `{"sql":"SELECT id FROM orders"}`}, ExitToolFailed, line, `"reason": "resource-unavailable"`},
				{[]string{"call", "--strict", "--policy", policyFile, "shop_query", `{"sql":"SELECT id FROM orders"}`}, ExitConfig, line, ""},
				{[]string{"doctor", "--policy", policyFile}, ExitToolFailed, "", "  PROBLEM: shop (" + s.driver + "): " + s.want(srv, db) + "\n"},
			}
			for _, tt := range tests {
				var stdout, stderr bytes.Buffer
				code := Main(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
				if code != tt.wantCode {
					t.Errorf("warden %s: exit %d, want %d", tt.args[0], code, tt.wantCode)
				}
				// doctor reports on stdout; its stderr is not pinned.
				if tt.args[0] != "doctor" && stderr.String() != tt.wantStderr {
					t.Errorf("warden %s: stderr\n%q\nwant\n%q", strings.Join(tt.args[:2], " "), stderr.String(), tt.wantStderr)
				}
				if !strings.Contains(stdout.String(), tt.wantStdout) {
					t.Errorf("warden %s: stdout\n%s\nwant it to contain %q", tt.args[0], stdout.String(), tt.wantStdout)
				}
				if strings.Contains(stdout.String()+stderr.String(), "wrong-s3cret") {
					t.Errorf("warden %s printed the password", tt.args[0])
				}
			}
		})
	}
}
