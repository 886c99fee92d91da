package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/diskreserve"
	"github.com/warden-dev/warden/internal/journal"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/redact"
)

// Engine runs tool calls for the agents of one policy. It is safe for
// concurrent use.
type Engine struct {
	policy    *policy.Policy
	opts      Options
	log       *slog.Logger
	current   atomic.Pointer[resourceSet] // the open resources and their tools
	res       resources                   // what changes current: retries, listeners
	audit     *audit.Log
	approvals *approval.Store
	journal   *journal.Store       // what mutating calls replace, for undo
	reserve   *diskreserve.Reserve // space kept for the audit log and the journal
	redactor  *redact.Redactor
	limiters  map[string]limiter
	closeOnce sync.Once
	closeErr  error
}

// Options configure an Engine. The zero value is valid.
type Options struct {
	// Logger receives operator messages (never secrets). Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// NoState skips opening the audit log and approval store: for
	// explaining decisions and listing tools, never for running calls.
	NoState bool
	// StrictResources makes New fail when a resource cannot be opened,
	// as the policy's settings.strict_resources does. Otherwise the
	// engine starts without it and tries it again in the background.
	StrictResources bool
	// Retry is the schedule of those attempts. Default [DefaultBackoff].
	Retry Backoff
	// NoRetry leaves a resource that cannot be opened unavailable, for
	// commands that make one call and exit.
	NoRetry bool
	// OnResource is told of each resource that cannot be opened, and of
	// each that opens later. Default: the Logger.
	OnResource func(ResourceEvent)
}

// New opens every resource's connector and the state directory (audit log,
// approvals). Close releases them.
func New(ctx context.Context, p *policy.Policy, opts Options) (*Engine, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{
		policy:   p,
		opts:     opts,
		log:      opts.Logger,
		limiters: map[string]limiter{},
	}
	var values []string
	for _, s := range p.Secrets() {
		values = append(values, s.Reveal())
	}
	e.redactor = redact.New(values...)

	settings := p.Settings()
	// Warden's own files, and the files holding the policy's secrets, are
	// never reachable through a resource; every secret is redacted from
	// every resource, since a key file under a root, or a password echoed
	// by an API, is read in pieces there.
	host := core.Host{
		Reserved: reservedPaths(append([]string{settings.StateDir, p.Source()}, p.SecretFiles()...)...),
		Secrets:  p.Secrets(),
	}
	var pending []pendingResource
	for _, spec := range p.Resources() {
		if connector.Lookup(spec.Kind) == nil {
			// A kind whose connector is not in this build offers no tools;
			// its grants stay valid policy and are simply unusable.
			e.log.Warn("resource has no connector in this build; it offers no tools", "resource", spec.Name, "kind", spec.Kind)
			continue
		}
		build := func() (core.Connector, error) { return connector.New(spec, host) }
		c, err := build()
		if err != nil {
			closePending(pending)
			// A configuration the connector refuses (a document that does
			// not load): said at the resource's place in the policy.
			return nil, &ResourceError{Position: spec.Position, Resource: spec.Name, Err: err}
		}
		pending = append(pending, pendingResource{spec: spec, conn: c, build: build})
	}
	// Each resource opens on its own: one that cannot is reported and
	// retried (see resources.go), unless resources are strict.
	if err := e.openResources(ctx, pending, opts.StrictResources || settings.StrictResources); err != nil {
		e.Close()
		return nil, err
	}
	for _, a := range p.Agents() {
		if n := p.AgentLimits(a).CallsPerMinute; n > 0 {
			if opts.NoState {
				e.limiters[a] = newMemLimiter(n, time.Minute)
			} else {
				e.limiters[a] = newFileLimiter(settings.StateDir, a, n, time.Minute)
			}
		}
	}
	if opts.NoState {
		return e, nil
	}
	if err := os.MkdirAll(settings.StateDir, 0o700); err != nil {
		e.Close()
		return nil, &StateError{Dir: settings.StateDir, Err: err}
	}
	aopts := audit.Options{Redactor: e.redactor, Now: opts.Now}
	if settings.AuditSync == "always" {
		aopts.Sync = audit.SyncAlways
	}
	if k := settings.AuditKey.Reveal(); k != "" {
		aopts.Key = []byte(k)
	}
	var err error
	if e.reserve, err = diskreserve.Open(filepath.Join(settings.StateDir, reserveFile), diskreserve.DefaultSize); err != nil {
		e.Close()
		return nil, &StateError{Dir: settings.StateDir, What: "the disk reserve", Err: err}
	}
	// The undo journal opens (and prunes) while the audit log and the
	// approvals open: other files, and each part a few hundred
	// microseconds of every start.
	var j *journal.Store
	jerr := make(chan error, 1)
	go func() {
		var err error
		j, err = journal.Open(settings.StateDir, journal.Options{MaxBytes: settings.JournalMaxBytes, MaxAge: settings.JournalMaxAge, Now: opts.Now, Reserve: e.reserve})
		jerr <- err
	}()
	err = e.openAudit(settings, aopts)
	if jerr := <-jerr; err == nil && jerr != nil {
		err = &StateError{Dir: settings.StateDir, What: "the undo journal", Err: jerr}
	}
	e.journal = j
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// openAudit opens the audit log and the approvals.
func (e *Engine) openAudit(settings policy.Settings, aopts audit.Options) error {
	var err error
	if e.audit, err = audit.Open(settings.StateDir, aopts); err != nil {
		return &StateError{Dir: settings.StateDir, What: "the audit log", Err: err}
	}
	// Approvals are sealed with the audit key, and every decision is in the
	// audit log before it takes effect.
	if e.approvals, err = approval.Open(settings.StateDir, approval.Options{TTL: settings.ApprovalTTL, Now: e.opts.Now, Key: aopts.Key, Record: e.recordDecision}); err != nil {
		return &StateError{Dir: settings.StateDir, What: "the approvals", Err: err}
	}
	return nil
}

// reservedPaths returns Warden's own files as absolute paths. The state
// directory (the first) is kept even before it exists; other paths that
// are not files (the default policy's source) are skipped.
func reservedPaths(paths ...string) []string {
	var list []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil && p != paths[0] {
			continue
		}
		if abs, err := filepath.Abs(p); err == nil {
			list = append(list, abs)
		}
	}
	return list
}

// Policy returns the engine's policy.
func (e *Engine) Policy() *policy.Policy { return e.policy }

// Approvals returns the approval store, or nil with Options.NoState.
func (e *Engine) Approvals() *approval.Store { return e.approvals }

// Audit returns the audit log, or nil with Options.NoState.
func (e *Engine) Audit() *audit.Log { return e.audit }

// Record appends an event that is not a tool call (a face's refusal, such
// as the egress proxy's for a host no resource covers) to the audit log,
// with the same handling of a full disk as a call's record, and returns
// its id. Without an audit log (Options.NoState) it fails: a face that
// must record what it refuses cannot run without one.
func (e *Engine) Record(ctx context.Context, rec *audit.Record) (string, error) {
	if e.audit == nil {
		return "", errors.New("record: the engine has no audit log")
	}
	stored, err := e.appendAudit(context.WithoutCancel(ctx), rec)
	if err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	return stored.ID, nil
}

// Redact removes the policy's secrets from s.
func (e *Engine) Redact(s string) string { return e.redactor.String(s) }

// Close releases connectors and the state directory. It is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		// No resource opens after this: the retries end first.
		e.stopRetries()
		var errs []error
		if s := e.set(); s != nil {
			for _, c := range s.conns {
				errs = append(errs, closeConn(c))
			}
		}
		if e.audit != nil {
			errs = append(errs, e.audit.Close())
		}
		if e.journal != nil {
			errs = append(errs, e.journal.Close())
		}
		if e.reserve != nil {
			errs = append(errs, e.reserve.Close())
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
