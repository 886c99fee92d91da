package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// maxProblems bounds the problems one check lists.
const maxProblems = 12

// A check is one of the end-of-run checks.
type check struct {
	name   string
	ok     bool
	detail []string
}

// check runs the end-of-run checks on the stopped server's files.
func (fx *fixture) check(ctx context.Context, srv *server, rep *report) []check {
	l := rep.ledger
	return []check{
		fx.checkAudit(ctx, srv),
		fx.checkFiles(l),
		fx.checkDB(l),
		fx.checkTemps(ctx, srv),
		checkFailures(rep.tally),
		checkServer(srv),
	}
}

// checkAudit runs warden audit verify on the run's state.
func (fx *fixture) checkAudit(ctx context.Context, srv *server) check {
	c := check{name: "`warden audit verify`"}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, srv.bin, "audit", "verify", "--policy", fx.policy)
	cmd.Dir = fx.work
	cmd.Env = srv.wardenEnv()
	out, err := cmd.CombinedOutput()
	c.ok = err == nil
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	if err != nil {
		lines = append(lines, err.Error())
	}
	c.detail = lines
	return c
}

// checkFiles compares every file the sessions changed with the ledger.
func (fx *fixture) checkFiles(l *ledger) check {
	c := check{name: "every acknowledged append, overwrite and edit is there; nothing refused was applied"}
	l.mu.Lock()
	defer l.mu.Unlock()
	var probs []string
	read := func(rel string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(fx.root, filepath.FromSlash(rel)))
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", rel, err))
			return "", false
		}
		return string(b), true
	}
	lines := 0
	for _, file := range slices.Sorted(maps.Keys(l.lines)) {
		lines += len(l.lines[file])
		if content, ok := read(file); ok {
			probs = append(probs, verifyLines(file, content, l.lines[file], l.why, 3)...)
		}
	}
	for _, item := range slices.Sorted(maps.Keys(l.values)) {
		want := l.values[item]
		if path, key, ok := strings.Cut(item, " "); ok {
			content, ok := read(path)
			if !ok {
				continue
			}
			n, found := boardValue(content, key)
			if got := fmt.Sprint(n); !found || !want[got] {
				probs = append(probs, fmt.Sprintf("%s: line %s holds %s; expected one of %s", path, key, got, setString(want)))
			}
			continue
		}
		if content, ok := read(item); ok && !want[hashOf(content)] {
			probs = append(probs, fmt.Sprintf("%s: holds content %s, which no acknowledged or unfinished write left; expected one of %s", item, hashOf(content), setString(want)))
		}
	}
	probs = append(probs, l.notes...)
	c.ok = len(probs) == 0
	if len(probs) > maxProblems {
		probs = append(probs[:maxProblems], fmt.Sprintf("… and %d more", len(probs)-maxProblems))
	}
	c.detail = append([]string{fmt.Sprintf("%d appended lines in %d files, %d files and board lines", lines, len(l.lines), len(l.values))}, probs...)
	return c
}

// staleTempAge is how old a crash's temporary file must be before a write
// in its directory sweeps it (internal/connector/fs/tempclean.go).
const staleTempAge = time.Minute

// A tempFile is a .warden-tmp-* file found in the root.
type tempFile struct {
	rel  string
	size int64
	mod  time.Time
}

func (t tempFile) String() string { return fmt.Sprintf("%s (%d bytes)", t.rel, t.size) }

// checkTemps looks for temporary files left in the root. One written after
// the last kill was left by a call that failed: the last server was
// stopped gracefully. One written before may be a crash's, which the next
// write in its directory sweeps once it is a minute old: so the server is
// started once more after that minute, writes once in each such
// directory, and what is still there then is reported too.
func (fx *fixture) checkTemps(ctx context.Context, srv *server) check {
	c := check{name: "no `.warden-tmp-*` file left in the root (a crash's swept by the next write in its directory)"}
	temps, err := fx.findTemps()
	if err != nil {
		c.detail = []string{err.Error()}
		return c
	}
	lastKill := srv.lastKill()
	var failed, crashed []tempFile
	for _, t := range temps {
		if lastKill.IsZero() || !t.mod.Before(lastKill) {
			failed = append(failed, t)
		} else {
			crashed = append(crashed, t)
		}
	}
	var probs []string
	if len(failed) > 0 {
		probs = append(probs, fmt.Sprintf("%d left by failed calls after the last kill: %s", len(failed), tempList(failed)))
	}
	if len(crashed) > 0 {
		notes, err := fx.sweep(ctx, srv, crashed)
		c.detail = append(c.detail, fmt.Sprintf("%d left by kills: %s", len(crashed), tempList(crashed)))
		c.detail = append(c.detail, notes...)
		if err != nil {
			probs = append(probs, "the sweep write could not be made: "+err.Error())
		} else if after, err := fx.findTemps(); err != nil {
			probs = append(probs, err.Error())
		} else {
			var kept []tempFile
			for _, t := range after {
				if slices.ContainsFunc(crashed, func(u tempFile) bool { return u.rel == t.rel }) {
					kept = append(kept, t)
				}
			}
			if len(kept) > 0 {
				probs = append(probs, fmt.Sprintf("%d of a kill's still there after a write in their directory: %s", len(kept), tempList(kept)))
			} else {
				c.detail = append(c.detail, "all swept by the next write in their directory")
			}
		}
	}
	c.ok = len(probs) == 0
	c.detail = append(c.detail, probs...)
	return c
}

func (fx *fixture) findTemps() ([]tempFile, error) {
	var found []tempFile
	err := filepath.WalkDir(fx.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.Contains(d.Name(), ".warden-tmp-") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(fx.root, path)
		found = append(found, tempFile{rel: filepath.ToSlash(rel), size: info.Size(), mod: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for temporary files: %w", err)
	}
	return found, nil
}

func tempList(ts []tempFile) string {
	var bytes int64
	var names []string
	for i, t := range ts {
		bytes += t.size
		if i < maxProblems {
			names = append(names, t.String())
		}
	}
	if len(ts) > maxProblems {
		names = append(names, fmt.Sprintf("… and %d more", len(ts)-maxProblems))
	}
	return fmt.Sprintf("%d bytes: %s", bytes, strings.Join(names, ", "))
}

// sweep waits until the crash leftovers are stale, frees the disk of the
// fillers' files, starts the server and writes one file in each of their
// directories, then stops it.
func (fx *fixture) sweep(ctx context.Context, srv *server, temps []tempFile) ([]string, error) {
	var notes []string
	if n := fx.removeFill(); n > 0 {
		notes = append(notes, fmt.Sprintf("(the fillers' %d files removed first, so the sweep write has room)", n))
	}
	newest := slices.MaxFunc(temps, func(a, b tempFile) int { return a.mod.Compare(b.mod) }).mod
	if wait := time.Until(newest.Add(staleTempAge + time.Second)); wait > 0 {
		select {
		case <-ctx.Done():
			return notes, ctx.Err()
		case <-time.After(wait):
		}
	}
	if err := srv.start(ctx); err != nil {
		return notes, err
	}
	defer srv.stop()
	dirs := map[string]bool{}
	for _, t := range temps {
		dirs[filepath.ToSlash(filepath.Dir(t.rel))] = true
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := probeWrite(ctx, srv.addr, fx.tokens[0], filepath.ToSlash(filepath.Join(d, "sweep-probe.txt"))); err != nil {
			return notes, err
		}
	}
	return notes, nil
}

// removeFill deletes the fillers' files directly; after the checks that
// read them, only the sweep needs room.
func (fx *fixture) removeFill() int {
	ents, _ := os.ReadDir(filepath.Join(fx.root, "fill"))
	n := 0
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".bin") && os.Remove(filepath.Join(fx.root, "fill", e.Name())) == nil {
			n++
		}
	}
	return n
}

// checkDB runs PRAGMA integrity_check and compares the inserted rows with
// the ledger.
func (fx *fixture) checkDB(l *ledger) check {
	c := check{name: "SQLite `PRAGMA integrity_check`; every acknowledged insert is there"}
	db, err := sql.Open("sqlite3", fx.db)
	if err != nil {
		c.detail = []string{err.Error()}
		return c
	}
	defer db.Close()
	var probs []string
	rows, err := db.Query("PRAGMA integrity_check")
	if err == nil {
		for rows.Next() {
			var s string
			if err = rows.Scan(&s); err != nil {
				break
			}
			if s != "ok" {
				probs = append(probs, "integrity_check: "+s)
			}
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		probs = append(probs, "integrity_check: "+err.Error())
	}
	present := map[string]int{}
	rows, err = db.Query("SELECT session, seq FROM events")
	if err == nil {
		for rows.Next() {
			var s string
			var n int
			if err = rows.Scan(&s, &n); err != nil {
				break
			}
			present[fmt.Sprintf("%s:%d", s, n)]++
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		probs = append(probs, "reading events: "+err.Error())
	}
	l.mu.Lock()
	probs = append(probs, verifyRows(present, l.rows, l.why, maxProblems)...)
	l.mu.Unlock()
	c.ok = len(probs) == 0
	c.detail = append([]string{fmt.Sprintf("%d rows", len(present))}, probs...)
	return c
}

// checkServer: the server started again after every kill and never died by
// itself.
func checkServer(srv *server) check {
	c := check{name: "the server restarted after every kill and never exited by itself"}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	c.detail = append(slices.Clone(srv.exits), srv.restartFailures...)
	c.ok = len(c.detail) == 0
	if !c.ok {
		c.detail = append(c.detail, "its last output: "+strings.ReplaceAll(srv.stderr.String(), "\n", " | "))
	}
	return c
}

// A rule names failures issue 12 rules out under this load: reason codes
// that must never answer the operations named (all of them when ops is
// empty).
type rule struct {
	ops, reasons []string
	why          string
}

var ruledOut = []rule{
	{nil, []string{"audit-unavailable", "audit-unavailable" + changeMadeSuffix}, "the audit log keeps a reserve: auditing goes on when the disk is full"},
	{[]string{"read", "list", "search", "stat", "delete", "fill-delete", "sql-select", "http-get"}, []string{"disk-full"}, "reads and deletes go on when the disk is full"},
	{[]string{"append", "write", "edit", "move", "create", "delete"}, []string{"target-changed"}, "writers through Warden are serialised; nothing else touches these files"},
	{[]string{"move"}, []string{"exists"}, "a move with overwrite: true replaces its target"},
	{[]string{"append", "write", "edit", "create", "fill-write"}, []string{"tool-failed"}, "a write on a full disk is refused with disk-full"},
	{nil, []string{"internal-error", "no-reason"}, "a bug, or a failure with no reason code"},
	{[]string{"connect"}, []string{transportPrefix + "http-429", transportPrefix + "http-503"}, "these sessions are within the default session caps"},
}

// ruledOutFailures lists the failures in byOp (op → outcome → calls) that
// a rule rules out.
func ruledOutFailures(byOp map[string]map[string]int, rules []rule) []string {
	var out []string
	for _, r := range rules {
		var hits []string
		for _, op := range slices.Sorted(maps.Keys(byOp)) {
			// Rules for every operation mean tool calls, not connecting.
			if (r.ops == nil && op == "connect") || (r.ops != nil && !slices.Contains(r.ops, op)) {
				continue
			}
			for _, reason := range r.reasons {
				if n := byOp[op][reason]; n > 0 {
					hits = append(hits, fmt.Sprintf("%s %s %d", op, reason, n))
				}
			}
		}
		if len(hits) > 0 {
			out = append(out, fmt.Sprintf("%s (%s)", strings.Join(hits, ", "), r.why))
		}
	}
	return out
}

// checkFailures: no call failed in a way the issue rules out.
func checkFailures(t *tally) check {
	c := check{name: "no failure the issue rules out (audit-unavailable; disk-full on reads and deletes; target-changed between Warden's own writers; exists on an overwriting move; tool-failed on a write; internal-error)"}
	t.mu.Lock()
	defer t.mu.Unlock()
	c.detail = ruledOutFailures(t.byOp, ruledOut)
	c.ok = len(c.detail) == 0
	return c
}
