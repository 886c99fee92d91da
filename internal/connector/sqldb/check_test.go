package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/core"
)

// TestCheckSQLite: Check says why a SQLite file cannot be used, in the
// operator's words, and leaves the directory as it found it (no database,
// journal or lock file created).
func TestCheckSQLite(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	c, err := sqlite3.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("CREATE TABLE t (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "text.db"), []byte("hello, not a database"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "short.db"), []byte("SQLite"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "dir.db"), 0o755))
	must(os.Symlink("good.db", filepath.Join(dir, "link.db")))
	before := entries(t, dir)

	for file, want := range map[string]string{
		"good.db":    "",
		"empty.db":   "",
		"missing.db": "no such file or directory",
		"text.db":    "the file is not a SQLite database",
		"short.db":   "the file is not a SQLite database",
		"dir.db":     "it is a directory",
		"link.db":    "it is a symbolic link",
	} {
		path := filepath.Join(dir, file)
		conn, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: "sqlite", DSN: core.NewSecret("", path)}}, core.Host{})
		if err != nil {
			t.Fatal(err)
		}
		for _, offline := range []bool{false, true} {
			err := conn.Check(context.Background(), offline)
			switch {
			case want == "" && err != nil:
				t.Errorf("Check(%s, offline=%v) = %v, want nil", file, offline, err)
			case want != "" && (err == nil || !strings.HasPrefix(err.Error(), "cannot open the SQLite database "+path+": ") || !strings.Contains(err.Error(), want)):
				t.Errorf("Check(%s, offline=%v) = %v, want \"cannot open the SQLite database %s: %s\"", file, offline, err, path, want)
			}
		}
	}
	if after := entries(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("Check changed the directory: %v, then %v", before, after)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestCheckServerOffline: offline, a server is not contacted; online, one
// that refuses connections is reported.
func TestCheckServerOffline(t *testing.T) {
	conn, err := New(&core.ResourceSpec{Name: "pg", Kind: "sql", Config: &Config{Driver: "postgres", DSN: core.NewSecret("env:X", "postgres://u:pw@127.0.0.1:1/db?connect_timeout=5")}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Check(context.Background(), true); err != nil {
		t.Errorf("offline Check = %v, want nil", err)
	}
	conn, _ = New(&core.ResourceSpec{Name: "pg", Kind: "sql", Config: &Config{Driver: "postgres", DSN: core.NewSecret("env:X", "postgres://u:pw@127.0.0.1:1/db?connect_timeout=5")}}, core.Host{})
	if err := conn.Check(context.Background(), false); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("online Check = %v, want a refused connection to 127.0.0.1:1", err)
	}
}
