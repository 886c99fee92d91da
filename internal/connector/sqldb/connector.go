package sqldb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
	"github.com/warden-dev/warden/internal/sqlscope"
)

const (
	// schemaMaxAge is how stale the cached schema may be before a statement
	// naming something unknown makes the connector read it again.
	schemaMaxAge = 5 * time.Second
	// timeoutGrace is how long past the statement timeout Warden waits for
	// the database to stop the statement itself.
	timeoutGrace = 2 * time.Second
	// messageSlack is what a protocol message may hold beyond the result
	// bytes it carries: column headers, lengths, an error's text.
	messageSlack = 64 << 10
)

// Connector is the sql connector. Create it with [New], then Open.
type Connector struct {
	resource string
	driver   string
	strict   bool // strict_credentials
	limits   limits
	ops      []core.Operation
	db       backend
	// pieces removes pieces of the policy's secrets from query results.
	pieces *redact.Redactor

	mu       sync.Mutex
	opened   bool
	closed   bool
	cached   *sqlscope.Schema
	cachedAt time.Time
}

// New checks and stores a sql resource's configuration; Open connects.
// host.Secrets are redacted from query results in pieces.
func New(spec *core.ResourceSpec, host core.Host) (*Connector, error) {
	const op = "sql.new"
	s, err := configOf(spec)
	if err != nil {
		return nil, core.E(op, core.KindInvalid, "", "", err)
	}
	l := s.Limits.WithDefaults()
	lim := limits{rows: l.MaxRows, bytes: l.MaxResultBytes, timeout: l.Timeout}
	var db backend
	switch s.Driver {
	case "sqlite":
		db = &sqliteDB{path: s.DSN.Reveal(), maxValue: int(min(lim.bytes, math.MaxInt32)) + messageSlack}
	case "postgres":
		db = &postgresDB{dsn: s.DSN, maxMessage: int(min(lim.bytes, math.MaxInt32)) + messageSlack}
	case "mysql":
		db = &mysqlDB{dsn: s.DSN}
	default:
		return nil, core.E(op, core.KindInvalid, "", "", fmt.Errorf("resource %q: unknown sql driver %q", spec.Name, s.Driver))
	}
	return &Connector{resource: spec.Name, driver: s.Driver, strict: s.StrictCredentials, limits: lim, ops: operations(spec.Name, s.Driver, lim), db: db, pieces: pieceRedactor(host.Secrets)}, nil
}

// Open connects to the database and reads its schema. It is idempotent.
// Its error's text is the operator's (what failed, the cause once); the
// model's sentence is its Msg.
func (c *Connector) Open(ctx context.Context) error {
	const op = "sql.Open"
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return core.E(op, core.KindUnavailable, core.ReasonInternal, "The resource is closed.", nil)
	case c.opened:
		return nil
	}
	if err := c.db.open(ctx); err != nil {
		return core.E(op, core.KindUnavailable, core.ReasonInternal, fmt.Sprintf("The database of %q cannot be opened.", c.resource), err)
	}
	s, err := c.db.schema(ctx)
	if err != nil {
		c.db.close()
		return core.E(op, core.KindUnavailable, core.ReasonInternal, fmt.Sprintf("The schema of %q cannot be read.", c.resource), schemaError(c.db, err))
	}
	c.cached, c.cachedAt, c.opened = s, time.Now(), true
	return nil
}

// Close disconnects.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.opened {
		return nil
	}
	return c.db.close()
}

// Operations lists the tools.
func (c *Connector) Operations() []core.Operation { return c.ops }

// schema returns the cached schema, reading it again when refresh is set
// and the copy is older than schemaMaxAge.
func (c *Connector) schema(ctx context.Context, refresh bool) (*sqlscope.Schema, bool, error) {
	return c.readSchema(ctx, refresh, false)
}

// reloadSchema reads the schema again whatever its age, after DDL has
// changed it.
func (c *Connector) reloadSchema(ctx context.Context) error {
	_, _, err := c.readSchema(ctx, true, true)
	return err
}

func (c *Connector) readSchema(ctx context.Context, refresh, force bool) (*sqlscope.Schema, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.opened || c.closed {
		return nil, false, core.E("sql", core.KindUnavailable, core.ReasonInternal, "The resource is not open.", nil)
	}
	if !force && (!refresh || time.Since(c.cachedAt) < schemaMaxAge) {
		return c.cached, false, nil
	}
	s, err := c.db.schema(ctx)
	if err != nil {
		return nil, false, core.E("sql", core.KindUnavailable, core.ReasonInternal, "The schema cannot be read.", err)
	}
	c.cached, c.cachedAt = s, time.Now()
	return s, true, nil
}

// Prepare analyses the statement and lists every table.column it touches
// as the call's targets, so the policy decides each of them.
func (c *Connector) Prepare(ctx context.Context, inv *core.Invocation) error {
	a, err := decodeArgs(inv)
	if err != nil {
		return err
	}
	if inv.Op == OpSchema {
		inv.State = a
		return nil
	}
	st, err := c.analyze(ctx, a)
	if err != nil {
		return err
	}
	targets, err := targetsOf(st.analysis)
	if err != nil {
		return err
	}
	if len(targets) > 0 {
		inv.Path, inv.Paths = targets[0], targets[1:]
	}
	inv.State = &prepared{args: a, st: st}
	return nil
}

// prepared is a call's state between Prepare and Execute.
type prepared struct {
	args *args
	st   *statement
}

// analyze runs the dialect's analyzer and checks the statement kind
// against the operation.
func (c *Connector) analyze(ctx context.Context, a *args) (*statement, error) {
	const op = "sql.analyze"
	s, _, err := c.schema(ctx, false)
	if err != nil {
		return nil, err
	}
	an, err := c.db.analyze(ctx, a.SQL, s, a.op == OpDDL)
	var ref *sqlscope.Refusal
	if errors.As(err, &ref) && (ref.Class == "table" || ref.Class == "column") {
		// The schema may have changed since it was read.
		if fresh, ok, serr := c.schema(ctx, true); serr == nil && ok {
			s = fresh
			an, err = c.db.analyze(ctx, a.SQL, s, a.op == OpDDL)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.failure(ctx, op, err)
		}
		if errors.As(err, &ref) {
			return nil, core.E(op, core.KindDenied, core.ReasonSQLRefused, "The statement was refused: "+ref.Msg+".", err)
		}
		return nil, core.E(op, core.KindUnavailable, core.ReasonInternal, "The statement could not be analysed: the database did not answer.", err)
	}
	switch {
	case an.Kind == sqlscope.Invalid:
		return nil, core.E(op, core.KindDenied, core.ReasonSQLRefused, "The statement was refused: its kind is not recognised.", nil)
	case a.op == OpQuery && !an.Kind.ReadOnly():
		return nil, core.Errorf(op, core.KindDenied, core.ReasonSQLRefused, "The statement was refused: %s_query runs only SELECT statements, and this is %s.", c.resource, strings.ToUpper(an.Kind.String()))
	case a.op == OpExecute && an.Kind.ReadOnly():
		return nil, core.Errorf(op, core.KindInvalid, core.ReasonInvalidArguments, "%s_execute runs INSERT, UPDATE and DELETE; use %s_query for SELECT.", c.resource, c.resource)
	case a.op == OpExecute && an.Kind == sqlscope.DDL:
		return nil, core.Errorf(op, core.KindDenied, core.ReasonSQLRefused, "The statement was refused: %s_execute runs INSERT, UPDATE and DELETE; DDL (CREATE, ALTER, DROP, TRUNCATE) goes through %s_ddl where a grant allows it.", c.resource, c.resource)
	case a.op == OpDDL && an.Kind != sqlscope.DDL:
		return nil, core.Errorf(op, core.KindInvalid, core.ReasonInvalidArguments, "%s_ddl runs CREATE TABLE, ALTER TABLE, DROP TABLE, TRUNCATE and CREATE/DROP INDEX; use %s_query for SELECT and %s_execute for INSERT, UPDATE and DELETE.", c.resource, c.resource, c.resource)
	case a.op == OpDDL && a.DryRun && c.driver == "mysql":
		return nil, errNoMySQLDryRun(op)
	}
	return &statement{sql: a.SQL, params: a.Params, analysis: an, schema: s}, nil
}

// targetsOf turns an analysis into policy targets: one per column, and one
// per table named ("table.") so that a statement that reads no column of
// a table (count(*)) still needs a grant on it.
func targetsOf(an *sqlscope.Analysis) ([]string, error) {
	var out []string
	add := func(table, column string) error {
		if strings.Contains(table, ".") || strings.Contains(column, ".") {
			return core.Errorf("sql", core.KindDenied, core.ReasonSQLRefused, "The statement was refused: names containing a dot (%q) are not supported.", table+"."+column)
		}
		out = append(out, SQLTarget(table, column))
		return nil
	}
	for _, r := range an.Refs() {
		if err := add(r.Table, r.Column); err != nil {
			return nil, err
		}
	}
	for _, t := range an.Tables {
		if err := add(t, ""); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Execute runs a prepared, allowed call.
func (c *Connector) Execute(ctx context.Context, inv *core.Invocation, scope core.Scope) (*core.Result, error) {
	switch p := inv.State.(type) {
	case *args:
		return c.describe(ctx, scope)
	case *prepared:
		lim := c.limits
		if m := inv.Options.Cap(OptMaxRows); m > 0 && m < int64(lim.rows) {
			lim.rows = int(m)
		}
		// The database stops the statement at lim.timeout itself; the
		// grace lets its own cancellation arrive before Warden drops the
		// connection, which would leave the statement running on the server.
		ctx, cancel := context.WithTimeout(ctx, lim.timeout+timeoutGrace)
		defer cancel()
		switch p.args.op {
		case OpQuery:
			t, err := c.db.query(ctx, p.st, lim)
			if err != nil {
				return nil, c.failure(ctx, "sql.query", err)
			}
			hidePieces(c.pieces, t)
			return &core.Result{Value: t, Bytes: t.bytes, Truncated: t.Truncated}, nil
		case OpDDL:
			return c.ddl(ctx, p, lim)
		}
		n, err := c.db.execute(ctx, p.st, p.args.DryRun, lim)
		if err != nil {
			return nil, c.failure(ctx, "sql.execute", err)
		}
		return &core.Result{Value: executeResult{RowsAffected: n, DryRun: p.args.DryRun, Committed: !p.args.DryRun}}, nil
	}
	return nil, core.E("sql.Execute", core.KindInternal, core.ReasonInternal, "", fmt.Errorf("unprepared invocation %T", inv.State))
}

// ddl runs a DDL call and, once it committed, reads the schema again:
// the next statement is analysed against the tables as they now are.
func (c *Connector) ddl(ctx context.Context, p *prepared, lim limits) (*core.Result, error) {
	dry := p.args.DryRun
	if dry && c.driver == "mysql" {
		return nil, errNoMySQLDryRun("sql.ddl")
	}
	err := c.db.ddl(ctx, p.st, dry, lim)
	if !dry {
		// Also after a failure: MySQL may have committed part of it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.limits.timeout)
		if c.reloadSchema(rctx) != nil {
			c.staleSchema()
		}
		cancel()
	}
	if err != nil {
		return nil, c.failure(ctx, "sql.ddl", err)
	}
	return &core.Result{Value: ddlResult{Done: true, DryRun: dry}}, nil
}

// staleSchema makes the next statement that names something unknown read
// the schema again.
func (c *Connector) staleSchema() {
	c.mu.Lock()
	c.cachedAt = time.Time{}
	c.mu.Unlock()
}

func errNoMySQLDryRun(op string) error {
	return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, "MySQL commits DDL at once and cannot roll it back, so there is no dry run; call again without dry_run.", nil)
}

type ddlResult struct {
	Done   bool `json:"done"`
	DryRun bool `json:"dry_run"`
}

// Preview runs an execute or ddl call as a dry run, for the human who
// approves it. MySQL cannot roll DDL back: the preview says so instead.
func (c *Connector) Preview(ctx context.Context, inv *core.Invocation) (string, error) {
	p, ok := inv.State.(*prepared)
	if !ok || p.args.op != OpExecute && p.args.op != OpDDL {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.limits.timeout+timeoutGrace)
	defer cancel()
	if p.args.op == OpDDL {
		if c.driver == "mysql" {
			return "no dry run is possible: MySQL commits DDL at once and cannot roll it back, so once approved the statement changes the database immediately", nil
		}
		if err := c.db.ddl(ctx, p.st, true, c.limits); err != nil {
			return "", c.failure(ctx, "sql.preview", err)
		}
		return "a dry run (rolled back) succeeded", nil
	}
	n, err := c.db.execute(ctx, p.st, true, c.limits)
	if err != nil {
		return "", c.failure(ctx, "sql.preview", err)
	}
	return fmt.Sprintf("a dry run (rolled back) changed %d rows", n), nil
}

type executeResult struct {
	RowsAffected int64 `json:"rows_affected"`
	DryRun       bool  `json:"dry_run"`
	Committed    bool  `json:"committed"`
}

// failure reports a database error. The database's message is passed on
// (the model needs it to correct a query), but only once the policy has
// allowed every column the statement touches, so it cannot leak data out
// of scope beyond what the query could read anyway.
func (c *Connector) failure(ctx context.Context, op string, err error) error {
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, errTimeout) || errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return core.Errorf(op, core.KindTimeout, core.ReasonTimeout, "The statement ran longer than the %s limit and was cancelled.", c.limits.timeout)
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return core.E(op, core.KindTimeout, core.ReasonTimeout, "The call was cancelled before it finished.", err)
	}
	// The message may quote a value the statement computed from a secret.
	return core.E(op, core.KindOther, core.ReasonToolFailed, "The database refused the statement: "+c.pieces.Pieces(oneLine(err.Error())), err)
}

// errTimeout is a backend's report that the database stopped a statement
// at the time limit.
var errTimeout = errors.New("the statement timed out")

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

var (
	_ core.Connector = (*Connector)(nil)
	_ core.Opener    = (*Connector)(nil)
	_ core.Previewer = (*Connector)(nil)
)
