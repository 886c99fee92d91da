package fs

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
)

// Connector is the local file system connector. Create it with [New], then
// call Open; it is safe for concurrent use.
type Connector struct {
	resource string
	rootPath string   // host path of the root; never shown to the agent
	reserved []string // absolute host paths Warden keeps for itself
	limits   Limits
	ops      []core.Operation
	// secrets are the policy's secrets: a read redacts them with the
	// bytes around its window in view, a search never matches them.
	secrets *redact.Redactor

	mu     sync.RWMutex
	open   *opened // nil before Open and after Close
	closed bool
	swept  sync.Map // directory id → when sweepTemps last ran there
	// releasing runs the removals of release in the background.
	releasing *background

	// hook, when set by tests, is called at points where a concurrent
	// change matters ("lstat", "open", "reopen", "commit").
	hook func(event, rel string)
}

// opened is what Open acquires.
type opened struct {
	root     *os.Root
	rootInfo iofs.FileInfo
	reserved []reservedPath
	// inMemory reports that the root is on tmpfs or ramfs, where
	// removing a file is cheap enough to do on the call's path.
	inMemory bool
}

// reservedPath is a reserved host path that lies inside the root.
type reservedPath struct {
	rel  string        // resolved, relative to the root, slash-separated
	info iofs.FileInfo // identity of the object, or nil if it does not exist yet
}

// New returns a connector for spec, which must be of kind "fs" with an
// absolute root. host.Reserved are refused inside it and host.Secrets
// redacted from what it returns. It only checks and stores the
// configuration; [Connector.Open] opens the root.
func New(spec *core.ResourceSpec, host core.Host) (*Connector, error) {
	const op = "fs.New"
	if spec == nil {
		return nil, core.E(op, core.KindInvalid, "", "no resource given", nil)
	}
	cfg, ok := spec.Config.(*Config)
	switch {
	case !ok || cfg == nil:
		return nil, core.Errorf(op, core.KindInvalid, "", "resource %q is not a file system resource", spec.Name)
	case !filepath.IsAbs(cfg.Root):
		return nil, core.Errorf(op, core.KindInvalid, "", "resource %q: the root must be an absolute path", spec.Name)
	}
	for _, r := range host.Reserved {
		if !filepath.IsAbs(r) {
			return nil, core.Errorf(op, core.KindInvalid, "", "resource %q: reserved path %q is not absolute", spec.Name, r)
		}
	}
	limits := cfg.Limits.WithDefaults()
	var values []string
	for _, s := range host.Secrets {
		values = append(values, s.Reveal())
	}
	return &Connector{
		secrets:  redact.New(values...),
		resource: spec.Name,
		rootPath: cfg.Root,
		reserved: append([]string(nil), host.Reserved...),
		limits:   limits,
		ops:      operations(spec.Name, limits),
		// A few removals at once are plenty; more would compete with the
		// calls for the disk.
		releasing: newBackground(4),
	}, nil
}

// Open opens the root directory and locates the reserved paths inside it.
// It is idempotent; after Close it fails.
func (c *Connector) Open(ctx context.Context) error {
	const op = "fs.Open"
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return core.E(op, core.KindUnavailable, core.ReasonInternal, "The resource is closed.", nil)
	case c.open != nil:
		return nil
	}
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	// The error's text is the operator's: the root and the cause, once.
	fail := func(err error) error {
		return core.E(op, core.KindUnavailable, core.ReasonInternal,
			"The root of "+quote(c.resource)+" cannot be opened.", rootOpenError(c.rootPath, err))
	}
	root, err := os.OpenRoot(c.rootPath)
	if err != nil {
		return fail(err)
	}
	o, err := c.locate(root)
	if err != nil {
		root.Close()
		if _, ok := err.(*core.Error); ok {
			return err
		}
		return fail(err)
	}
	c.open = o
	c.sweepRoot(o)
	return nil
}

// locate records the root's identity and finds the reserved paths that lie
// inside it, comparing fully resolved host paths.
func (c *Connector) locate(root *os.Root) (*opened, error) {
	info, err := root.Stat(".")
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(c.rootPath)
	if err != nil {
		return nil, err
	}
	if ri, err := os.Stat(real); err != nil || !os.SameFile(info, ri) {
		return nil, errors.Join(errors.New("the root changed while it was being opened"), err)
	}
	o := &opened{root: root, rootInfo: info, inMemory: inMemoryFS(real)}
	for _, r := range c.reserved {
		rr, rinfo := resolveHost(r)
		if rel, err := filepath.Rel(rr, real); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return nil, core.E("fs.Open", core.KindInvalid, core.ReasonReservedPath,
				"The root of "+quote(c.resource)+" cannot be opened.",
				fmt.Errorf("the root %s is inside %s, which Warden keeps to itself (its state directory, the policy or a secret file)", c.rootPath, r))
		}
		rel, err := filepath.Rel(real, rr)
		if err != nil || !filepath.IsLocal(rel) {
			continue // outside the root
		}
		o.reserved = append(o.reserved, reservedPath{rel: filepath.ToSlash(rel), info: rinfo})
	}
	return o, nil
}

// resolveHost resolves the symbolic links in the host path p. If p does
// not exist yet, its longest existing ancestor is resolved and the rest is
// appended. info is the identity of p, or nil if it does not exist.
func resolveHost(p string) (string, iofs.FileInfo) {
	p = filepath.Clean(p)
	if real, err := filepath.EvalSymlinks(p); err == nil {
		info, err := os.Stat(real)
		if err != nil {
			return real, nil
		}
		return real, info
	}
	dir, base := filepath.Split(p)
	dir = filepath.Clean(dir)
	if dir == p { // the file system root itself failed to resolve
		return p, nil
	}
	real, _ := resolveHost(dir)
	return filepath.Join(real, base), nil
}

// Close releases the root. It is idempotent. Calls prepared before Close
// fail when they execute.
func (c *Connector) Close() error {
	c.releasing.wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.open != nil {
		c.open.root.Close()
		c.open = nil
	}
	return nil
}

// current returns the opened state, or an error if the connector is not open.
func (c *Connector) current(op string) (*opened, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.open == nil {
		return nil, core.E(op, core.KindUnavailable, core.ReasonInternal,
			"The resource "+quote(c.resource)+" is not open.", nil)
	}
	return c.open, nil
}

// Operations lists read, list, search and stat.
func (c *Connector) Operations() []core.Operation {
	return append([]core.Operation(nil), c.ops...)
}

// call is the State of a prepared invocation: the decoded arguments and the
// resolved target, whose directory handle it owns.
type call struct {
	op     string
	path   string // the path argument as the agent gave it
	target *target

	// read
	offset, length int64
	// list
	recursive bool
	cursor    string // decoded: the last path of the previous page
	limit     int
	// search
	name, text string
	ignoreCase bool
	maxResults int

	// write
	content   []byte
	writeMode string         // "create", "overwrite" or "append"
	perm      *iofs.FileMode // the file's mode, if not the default (see Tree)
	// edit
	edits  []edit
	dryRun bool
	// mkdir
	parents bool
	// move: path and target are the source
	to        string
	toTarget  *target
	overwrite bool
	// delete uses recursive
}

// Close releases the handles the call holds. It is idempotent.
func (s *call) Close() error {
	if s.target != nil {
		s.target.close()
	}
	if s.toTarget != nil {
		s.toTarget.close()
	}
	return nil
}

// mutating reports whether op changes the resource.
func mutating(op string) bool {
	switch op {
	case OpWrite, OpEdit, OpMkdir, OpMove, OpDelete:
		return true
	}
	return false
}

// Prepare decodes the arguments, validates the path and resolves it inside
// the root, setting inv.Path to the resolved path relative to the root (for
// a move, the source, and inv.Paths to the destination) and inv.State to
// an io.Closer that holds the resolved directory handles.
// Failures that depend on what exists are reported by Execute, so that the
// policy decides on inv.Path before anything about the target is revealed;
// reserved paths are refused here.
func (c *Connector) Prepare(ctx context.Context, inv *core.Invocation) error {
	op := opName(inv.Op)
	if err := ctx.Err(); err != nil {
		return ctxError(op, err)
	}
	s := &call{op: inv.Op}
	if err := c.decode(op, inv, s); err != nil {
		return err
	}
	if err := checkPath(op, c.resource, s.path); err != nil {
		return err
	}
	if s.op == OpMove {
		if err := checkPath(op, c.resource, s.to); err != nil {
			return err
		}
	}
	o, err := c.current(op)
	if err != nil {
		return err
	}
	r := resolver{root: o.root, rootInfo: o.rootInfo, reserved: o.isReserved, hook: c.hook, parent: mutating(s.op)}
	t, err := c.prepareTarget(ctx, op, o, &r, s.path)
	if err != nil {
		return err
	}
	if s.cursor != "" && !under(s.cursor, t.rel) {
		t.close()
		return core.E(op, core.KindInvalid, core.ReasonInvalidArguments,
			"The cursor belongs to a different listing; start again without a cursor.", nil)
	}
	if s.op == OpMove || s.op == OpDelete {
		// Moving or deleting a directory takes everything in it along.
		if o.reservedUnder(t.rel) {
			t.close()
			return reservedError(op, s.path)
		}
	}
	s.target = t
	inv.Path = t.rel
	inv.Paths = nil
	if s.op == OpMove {
		to, err := c.prepareTarget(ctx, op, o, &r, s.to)
		if err != nil {
			t.close()
			return err
		}
		s.toTarget = to
		inv.Paths = []string{to.rel}
	}
	inv.State = s
	return nil
}

// prepareTarget resolves p and refuses reserved and temporary paths.
func (c *Connector) prepareTarget(ctx context.Context, op string, o *opened, r *resolver, p string) (*target, error) {
	t, err := r.resolve(ctx, op, p)
	if err != nil {
		return nil, err
	}
	if o.isReservedPath(t.rel) || (t.fail == nil && o.isReserved(t.info)) {
		t.close()
		return nil, reservedError(op, p)
	}
	if hasTempComponent(t.rel) || hasTempComponent(strings.ReplaceAll(p, "\\", "/")) {
		t.close()
		return nil, core.E(op, core.KindDenied, core.ReasonReservedPath,
			quote(p)+" uses a name starting with "+quote(tempPrefix)+", which is reserved for Warden's temporary files.", nil)
	}
	return t, nil
}

// decode fills s from inv.Args according to the operation.
func (c *Connector) decode(op string, inv *core.Invocation, s *call) error {
	invalid := func(msg string) error {
		return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, msg, nil)
	}
	switch inv.Op {
	case OpRead:
		var a struct {
			Path   string `json:"path"`
			Offset *int64 `json:"offset"`
			Length *int64 `json:"length"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.length = a.Path, c.limits.MaxReadBytes
		if a.Offset != nil {
			if *a.Offset < 0 {
				return invalid("offset must be 0 or more.")
			}
			s.offset = *a.Offset
		}
		if a.Length != nil {
			if *a.Length < 1 || *a.Length > c.limits.MaxReadBytes {
				return invalid("length must be between 1 and " + itoa(c.limits.MaxReadBytes) + ".")
			}
			s.length = *a.Length
		}
	case OpList:
		var a struct {
			Path      string `json:"path"`
			Recursive bool   `json:"recursive"`
			Cursor    string `json:"cursor"`
			Limit     *int   `json:"limit"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.recursive, s.limit = a.Path, a.Recursive, c.limits.MaxListEntries
		if a.Limit != nil {
			if *a.Limit < 1 || *a.Limit > c.limits.MaxListEntries {
				return invalid("limit must be between 1 and " + itoa(int64(c.limits.MaxListEntries)) + ".")
			}
			s.limit = *a.Limit
		}
		if a.Cursor != "" {
			last, err := base64.RawURLEncoding.DecodeString(a.Cursor)
			if err != nil || len(last) == 0 || strings.IndexByte(string(last), 0) >= 0 {
				return invalid("The cursor is not one this tool returned; pass next_cursor unchanged, or omit it to start again.")
			}
			s.cursor = string(last)
		}
	case OpSearch:
		var a struct {
			Path       string  `json:"path"`
			Name       *string `json:"name"`
			Text       *string `json:"text"`
			IgnoreCase bool    `json:"ignore_case"`
			MaxResults *int    `json:"max_results"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.ignoreCase, s.maxResults = a.Path, a.IgnoreCase, c.limits.MaxSearchResults
		if a.Name == nil && a.Text == nil {
			return invalid("Give at least one of name (a file name pattern such as \"*.md\") and text (a string to find inside files).")
		}
		if a.Name != nil {
			if msg := globProblem(*a.Name); msg != "" {
				return invalid(msg)
			}
			s.name = *a.Name
		}
		if a.Text != nil {
			switch {
			case *a.Text == "":
				return invalid("text must not be empty.")
			case len(*a.Text) > 1024:
				return invalid("text must be at most 1024 bytes.")
			case strings.ContainsAny(*a.Text, "\r\n"):
				return invalid("text must be a single line; files are searched line by line.")
			}
			s.text = *a.Text
		}
		if a.MaxResults != nil {
			if *a.MaxResults < 1 || *a.MaxResults > c.limits.MaxSearchResults {
				return invalid("max_results must be between 1 and " + itoa(int64(c.limits.MaxSearchResults)) + ".")
			}
			s.maxResults = *a.MaxResults
		}
	case OpStat:
		var a struct {
			Path string `json:"path"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path = a.Path
	case OpWrite, OpEdit, OpMkdir, OpMove, OpDelete:
		return c.decodeWrite(op, inv, s)
	default:
		return core.E(op, core.KindInvalid, core.ReasonUnknownTool,
			"This resource has no operation "+quote(inv.Op)+"; it offers read, list, search, stat, write, edit, mkdir, move and delete.", nil)
	}
	return nil
}

// Execute runs a prepared call. scope decides which entries found by list
// and search are visible; a nil scope hides them all (fail closed).
func (c *Connector) Execute(ctx context.Context, inv *core.Invocation, scope core.Scope) (*core.Result, error) {
	op := opName(inv.Op)
	s, ok := inv.State.(*call)
	if !ok || s.op != inv.Op || s.target == nil {
		return nil, core.E(op, core.KindInternal, core.ReasonInternal, "", errInternalState)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(op, err)
	}
	if _, err := c.current(op); err != nil {
		return nil, err
	}
	if s.target.fail != nil {
		return nil, s.target.fail
	}
	if s.target.dir == nil {
		return nil, core.E(op, core.KindInternal, core.ReasonInternal, "", errors.New("invocation executed after its state was closed"))
	}
	if scope == nil {
		scope = core.ScopeFunc(func(string) bool { return false })
	}
	switch s.op {
	case OpRead:
		return c.read(op, s)
	case OpList:
		return c.list(ctx, op, s, scope)
	case OpSearch:
		return c.search(ctx, op, s, scope)
	case OpStat:
		return c.stat(op, s)
	}
	if s.toTarget != nil && s.toTarget.fail != nil {
		return nil, s.toTarget.fail
	}
	m := &mutation{c: c, ctx: ctx, op: op, s: s, j: inv.Journal, opts: inv.Options, scope: scope}
	switch s.op {
	case OpWrite:
		return m.write()
	case OpEdit:
		return m.edit()
	case OpMkdir:
		return m.mkdir()
	case OpMove:
		return m.move()
	case OpDelete:
		return m.delete()
	}
	return nil, core.E(op, core.KindInternal, core.ReasonInternal, "", errInternalState)
}

// isReservedPath reports whether rel is a reserved path or lies under one.
func (o *opened) isReservedPath(rel string) bool {
	for _, r := range o.reserved {
		if rel == r.rel || under(rel, r.rel) {
			return true
		}
	}
	return false
}

// isReserved reports whether info is the identity of a reserved object.
// This catches hard links to a reserved file and case-insensitive file
// systems, where a path comparison alone would not.
func (o *opened) isReserved(info iofs.FileInfo) bool {
	if info == nil {
		return false
	}
	for _, r := range o.reserved {
		if r.info != nil && os.SameFile(r.info, info) {
			return true
		}
	}
	return false
}

// reservedUnder reports whether a reserved path lies inside rel, so that
// moving or deleting rel would take it along.
func (o *opened) reservedUnder(rel string) bool {
	for _, r := range o.reserved {
		if under(r.rel, rel) {
			return true
		}
	}
	return false
}

// under reports whether p lies strictly inside dir (both clean,
// slash-separated, relative to the root).
func under(p, dir string) bool {
	if dir == "." {
		return p != "." && p != ""
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var (
	_ core.Connector = (*Connector)(nil)
	_ core.Opener    = (*Connector)(nil)
	_ io.Closer      = (*Connector)(nil)
	_ io.Closer      = (*call)(nil)
)
