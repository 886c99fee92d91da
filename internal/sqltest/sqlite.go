package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "github.com/ncruces/go-sqlite3/driver" // registers the "sqlite3" driver
)

// SQLiteFile creates a SQLite database holding fx.SQLite, alone in a new
// directory under tb.TempDir(), and returns its path. The directory holds
// nothing else, so [SQLiteChecksum] sees any file a statement creates
// beside the database.
func SQLiteFile(tb testing.TB, fx Fixture) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "warden.db")
	if err := sqliteScript(path, fx.SQLite); err != nil {
		tb.Fatalf("sqltest: create sqlite database: %v", err)
	}
	return path
}

// SQLiteOtherDB creates the corpora's {OTHERDB}: a database file outside
// any resource whose table loot(secret) holds [OtherDBMarker]. It returns
// the file's path.
func SQLiteOtherDB(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "other.db")
	script := "CREATE TABLE loot (secret TEXT); INSERT INTO loot VALUES ('" + OtherDBMarker + "')"
	if err := sqliteScript(path, script); err != nil {
		tb.Fatalf("sqltest: create other sqlite database: %v", err)
	}
	return path
}

// sqliteScript creates the database file at path and runs script in it.
// The connection is closed before returning, so no -journal file remains.
func sqliteScript(path, script string) error {
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, script); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
