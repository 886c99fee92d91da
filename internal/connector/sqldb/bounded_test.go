package sqldb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqltest"
)

const (
	// boundedChildEnv tells the test binary, run again as a child, which
	// query to run against which server, so that its peak RSS measures
	// that query alone.
	boundedChildEnv = "WARDEN_BOUNDED_QUERY_CHILD"
	boundedLimit    = 1 << 20
)

// TestServerQueryBoundedWhileRead runs a query whose one row is 50 MB
// with max_result_bytes of 1 MiB, in a child process: its peak RSS stays
// within a small multiple of the bound, the result says it was cut by
// max_result_bytes, and the statement is no longer running on the server.
func TestServerQueryBoundedWhileRead(t *testing.T) {
	if os.Getenv(boundedChildEnv) != "" {
		boundedChild(t)
		return
	}
	dsns := map[string]string{"sqlite": sqltest.SQLiteFile(t, sqltest.CorpusFixture)}
	for driver, db := range serverDBs(t) {
		dsns[driver] = db.OwnerDSN()
	}
	for driver, dsn := range dsns {
		t.Run(driver, func(t *testing.T) {
			// 50 MB: the 200 MB behaves the same, but the server
			// takes ten seconds to build it on a small machine.
			big := "SELECT repeat('x', 50000000) AS big"
			many := "SELECT repeat('y', 100000) AS v FROM generate_series(1, 100000)"
			if driver == "mysql" {
				// The server returns NULL for a value over its
				// max_allowed_packet; a row of many values is not bounded so.
				big = "SELECT " + strings.TrimSuffix(strings.Repeat("repeat('x', 10000000), ", 5), ", ")
				many = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) SELECT repeat('y', 100000) AS v FROM s"
			}
			if driver == "sqlite" {
				// SQLite builds values in its own (WebAssembly) memory:
				// one over the bound must not be made at all.
				big = "SELECT printf('%.*c', 15000000, 'x') AS big"
				many = "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) SELECT printf('%.*c', 100000, 'y') AS v FROM s"
			}
			for _, q := range []string{big, many} {
				spec, _ := json.Marshal(map[string]string{"driver": driver, "dsn": dsn, "sql": q})
				start := time.Now()
				cmd := exec.Command(os.Args[0], "-test.run=^TestServerQueryBoundedWhileRead$", "-test.count=1")
				cmd.Env = append(os.Environ(), boundedChildEnv+"="+string(spec))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("child for %q: %v\n%s", q, err, out)
				}
				var rep struct {
					Truncated bool
					Why       string
					Rows      int
					BeforeKB  int64
					PeakKB    int64
				}
				line := lastLine(out, "REPORT ")
				if err := json.Unmarshal([]byte(line), &rep); err != nil {
					t.Fatalf("child for %q: no report: %v\n%s", q, err, out)
				}
				grew := (rep.PeakKB - rep.BeforeKB) << 10
				t.Logf("%s: rows %d, truncated_by %q, RSS %d KiB before, peak %d KiB", q, rep.Rows, rep.Why, rep.BeforeKB, rep.PeakKB)
				if !rep.Truncated || rep.Why != "max_result_bytes" {
					t.Errorf("%q: truncated %v by %q, want truncated by max_result_bytes", q, rep.Truncated, rep.Why)
				}
				if grew > 16*boundedLimit {
					t.Errorf("%q: peak RSS grew by %d MiB during the query, over 16 times the %d MiB bound", q, grew>>20, boundedLimit>>20)
				}
				ran := time.Since(start)
				if driver != "sqlite" {
					assertNotRunning(t, driver, dsn, q)
				}
				t.Logf("child ran %v, the server stopped %v later", ran.Round(time.Millisecond), (time.Since(start) - ran).Round(time.Millisecond))
			}
		})
	}
}

// boundedChild runs one query with the bound and prints its result and
// the process's RSS before it and at its peak.
func boundedChild(t *testing.T) {
	var spec struct{ Driver, DSN, SQL string }
	if err := json.Unmarshal([]byte(os.Getenv(boundedChildEnv)), &spec); err != nil {
		t.Fatal(err)
	}
	c, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: spec.Driver, DSN: core.NewSecret("env:X", spec.DSN), Limits: Limits{MaxResultBytes: boundedLimit, Timeout: 30 * time.Second}}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _, err := c.schema(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	debug.FreeOSMemory()
	before := procStatus(t, "VmRSS")
	resetPeak()
	tab, err := c.db.query(ctx, &statement{sql: spec.SQL, analysis: everything(s), schema: s}, c.limits)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	rep, _ := json.Marshal(map[string]any{"Truncated": tab.Truncated, "Why": tab.Why, "Rows": len(tab.Rows), "BeforeKB": before, "PeakKB": procStatus(t, "VmHWM")})
	fmt.Printf("REPORT %s\n", rep)
}

// resetPeak starts VmHWM again from the current RSS (Linux 4.0+), so the
// peak measured is the query's, not the start-up's.
func resetPeak() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func lastLine(out []byte, prefix string) string {
	var found string
	for _, l := range bytes.Split(out, []byte("\n")) {
		if s, ok := bytes.CutPrefix(l, []byte(prefix)); ok {
			found = string(s)
		}
	}
	return found
}

// assertNotRunning waits until no session on the server runs q any more.
func assertNotRunning(t *testing.T, driver, dsn, q string) {
	t.Helper()
	ctx := context.Background()
	var count func() (int, error)
	switch driver {
	case "postgres":
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		count = func() (n int, err error) {
			err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() AND query = $1", q).Scan(&n)
			return n, err
		}
	default:
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		count = func() (n int, err error) {
			err = db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.processlist WHERE info = ?", q).Scan(&n)
			return n, err
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := count()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%q still runs on the server %d times after Warden cut its result", q, n)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
