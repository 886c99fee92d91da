package main

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // database/sql driver "sqlite3"
	"golang.org/x/sys/unix"
)

// numAgents is how many agents the sessions are spread over, each with its
// own token, so a per-agent session cap sees a quarter of -sessions.
const numAgents = 4

// numBoards is how many files the edits share, and numShared how many
// files the shared appends and the moves' targets share.
const (
	numBoards = 4
	numShared = 4
	numDocs   = 60
)

// A fixture is the directory tree, the policy, the database and the echo
// server of one run.
//
//	WORK/warden.yaml
//	WORK/disk/              the tmpfs (or a plain directory with -no-tmpfs)
//	WORK/disk/files/        the fs resource's root
//	WORK/disk/state/        the state directory (WORK/state with -state-off-tmpfs)
//	WORK/disk/db/shop.db    the SQLite resource
type fixture struct {
	work, disk, root, state, db, policy string
	mounted, ownWork                    bool
	env                                 []string // tokens and the audit key, for warden only
	tokens                              [numAgents]string
	echo                                *http.Server
	echoURL                             string
	echoHits                            atomic.Int64
	tmpfsSize                           string
}

func newFixture(c config, logf func(string, ...any)) (_ *fixture, err error) {
	fx := &fixture{work: c.workdir, tmpfsSize: c.tmpfsSize}
	if fx.work == "" {
		if fx.work, err = os.MkdirTemp("", "loadchaos-"); err != nil {
			return nil, fmt.Errorf("fixture: %w", err)
		}
		fx.ownWork = true
	}
	defer func() {
		if err != nil {
			fx.close(false)
		}
	}()
	if fx.work, err = filepath.Abs(fx.work); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	fx.disk = filepath.Join(fx.work, "disk")
	if err := os.MkdirAll(fx.disk, 0o755); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	if !c.noTmpfs {
		if err := unix.Mount("loadchaos", fx.disk, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+c.tmpfsSize+",mode=0755"); err != nil {
			return nil, fmt.Errorf("fixture: mount -t tmpfs -o size=%s at %s: %w", c.tmpfsSize, fx.disk, err)
		}
		fx.mounted = true
		logf("mounted a %s tmpfs at %s", c.tmpfsSize, fx.disk)
	}
	fx.root = filepath.Join(fx.disk, "files")
	fx.state = filepath.Join(fx.disk, "state")
	if c.stateOnDisk {
		fx.state = filepath.Join(fx.work, "state")
	}
	fx.db = filepath.Join(fx.disk, "db", "shop.db")
	fx.policy = filepath.Join(fx.work, "warden.yaml")

	if err := fx.writeFiles(c); err != nil {
		return nil, err
	}
	if err := createDB(fx.db); err != nil {
		return nil, err
	}
	if err := fx.startEcho(); err != nil {
		return nil, err
	}
	key := randomHex(32)
	fx.env = []string{"LOADCHAOS_AUDIT_KEY=" + key}
	for i := range fx.tokens {
		fx.tokens[i] = randomHex(24)
		fx.env = append(fx.env, fmt.Sprintf("LOADCHAOS_TOKEN_%d=%s", i, fx.tokens[i]))
	}
	if err := os.WriteFile(fx.policy, []byte(fx.policyYAML()), 0o644); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	return fx, nil
}

// writeFiles lays out the root: documents to read, list and search; one
// file per session to overwrite and one to append to; the shared append
// files; the boards the edits share (one line per session).
func (fx *fixture) writeFiles(c config) error {
	files := map[string]string{}
	for i := range numDocs {
		files[fmt.Sprintf("docs/d%02d/note-%03d.md", i%6, i)] = fmt.Sprintf("# note %d\n\n%s\nneedle-%d\n", i, strings.Repeat("lorem ipsum dolor sit amet\n", 20+i), i%10)
	}
	boards := make([]strings.Builder, numBoards)
	for s := range c.sessions {
		files[ownPath(s)] = fmt.Sprintf("%s initial\n", tag(s))
		files[ownLogPath(s)] = ""
		if s >= c.fillers {
			fmt.Fprintf(&boards[s%numBoards], "%s 0\n", boardKey(s))
		}
	}
	for k := range numBoards {
		files[boardPath(k)] = boards[k].String()
	}
	for k := range numShared {
		files[sharedLogPath(k)] = ""
	}
	for _, d := range []string{"scratch", "fill"} {
		if err := os.MkdirAll(filepath.Join(fx.root, d), 0o755); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
	}
	for p, content := range files {
		full := filepath.Join(fx.root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
	}
	for _, d := range []string{fx.state, filepath.Dir(fx.db)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("fixture: %w", err)
		}
	}
	return nil
}

func tag(s int) string            { return fmt.Sprintf("s%02d", s) }
func ownPath(s int) string        { return fmt.Sprintf("own/%s.txt", tag(s)) }
func ownLogPath(s int) string     { return fmt.Sprintf("ledger/%s.log", tag(s)) }
func sharedLogPath(k int) string  { return fmt.Sprintf("shared/log-%d.log", k) }
func boardPath(k int) string      { return fmt.Sprintf("boards/board-%d.txt", k) }
func boardKey(s int) string       { return "[" + tag(s) + "]" }
func dropPath(k int) string       { return fmt.Sprintf("scratch/drop-%d.txt", k) }
func fillPath(s, i int) string    { return fmt.Sprintf("fill/%s-%04d.bin", tag(s), i) }
func scratchPath(s, i int) string { return fmt.Sprintf("scratch/%s-%05d.txt", tag(s), i) }
func agentName(a int) string      { return fmt.Sprintf("a%d", a) }
func randomHex(n int) string      { b := make([]byte, n); _, _ = rand.Read(b); return hex.EncodeToString(b) }
func (fx *fixture) tmpfsNote() string {
	if !fx.mounted {
		return "plain directory (-no-tmpfs)"
	}
	return "tmpfs size=" + fx.tmpfsSize
}

// policyYAML grants every agent the same: every fs action on the root,
// SELECT and INSERT on the events table without approval, GET on the echo
// API. The audit log is keyed, the journal small enough to be pruned on a
// small disk, and the argument limit room for the fillers' 2 MiB writes.
func (fx *fixture) policyYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
resources:
  files:
    kind: fs
    root: %s
    limits:
      max_write_bytes: 4MiB
  shop:
    kind: sql
    driver: sqlite
    dsn: %s
  echo:
    kind: http
    base_url: %s/v1/
    allow_private: [127.0.0.1/32]
agents:
`, yamlString(fx.root), yamlString(fx.db), fx.echoURL)
	for a := range numAgents {
		fmt.Fprintf(&b, `  %s:
    token: env:LOADCHAOS_TOKEN_%d
    grants:
      - resource: files
        actions: [read, list, search, stat, write, edit, mkdir, move, delete]
      - resource: shop
        actions: [query, execute]
        approval: none
        tables: {events: "*"}
      - resource: echo
        actions: [GET]
`, agentName(a), a)
	}
	fmt.Fprintf(&b, `settings:
  state_dir: %s
  audit:
    key: env:LOADCHAOS_AUDIT_KEY
  limits:
    max_argument_bytes: 4MiB
  journal:
    max_bytes: 8MiB
`, yamlString(fx.state))
	return b.String()
}

// yamlString quotes a path for YAML (a JSON string is a YAML string).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func createDB(path string) error {
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return fmt.Errorf("fixture: %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE events (id INTEGER PRIMARY KEY, session TEXT NOT NULL, seq INTEGER NOT NULL, note TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("fixture: %s: %w", path, err)
	}
	return nil
}

// startEcho serves GET /v1/items/{n} on loopback: a small JSON document.
func (fx *fixture) startEcho() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("fixture: echo server: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/items/{n}", func(w http.ResponseWriter, r *http.Request) {
		fx.echoHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"name":"item","tags":["a","b","c"],"pad":%q}`, r.PathValue("n"), strings.Repeat("x", 160))
	})
	fx.echo = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fx.echoURL = "http://" + ln.Addr().String()
	go func() { _ = fx.echo.Serve(ln) }()
	return nil
}

// close stops the echo server and unmounts the tmpfs; with keep, the
// tmpfs's content is copied to WORK/disk-copy first.
func (fx *fixture) close(keep bool) {
	if fx.echo != nil {
		_ = fx.echo.Close()
	}
	if fx.mounted {
		if keep {
			_ = os.CopyFS(filepath.Join(fx.work, "disk-copy"), os.DirFS(fx.disk))
		}
		if err := unix.Unmount(fx.disk, 0); err != nil {
			// Busy: detach it, so it goes once the last user does.
			_ = unix.Unmount(fx.disk, unix.MNT_DETACH)
		}
		fx.mounted = false
	}
	if !keep && fx.ownWork {
		_ = os.RemoveAll(fx.work)
	}
}
