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
	conns     map[string]core.Connector // by resource name
	tools     map[string]map[string]*Tool
	toolOrder map[string][]*Tool
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
}

// New opens every resource's connector and the state directory (audit log,
// approvals). Close releases them.
func New(ctx context.Context, p *policy.Policy, opts Options) (*Engine, error) {
	const op = "engine.New"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &Engine{
		policy:    p,
		opts:      opts,
		log:       opts.Logger,
		conns:     map[string]core.Connector{},
		tools:     map[string]map[string]*Tool{},
		toolOrder: map[string][]*Tool{},
		limiters:  map[string]limiter{},
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
	for _, spec := range p.Resources() {
		if connector.Lookup(spec.Kind) == nil {
			// A kind whose connector is not in this build offers no tools;
			// its grants stay valid policy and are simply unusable.
			e.log.Warn("resource has no connector in this build; it offers no tools", "resource", spec.Name, "kind", spec.Kind)
			continue
		}
		c, err := connector.New(spec, host)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("%s: resource %q: %w", op, spec.Name, err)
		}
		if o, ok := c.(core.Opener); ok {
			if err := o.Open(ctx); err != nil {
				e.Close()
				return nil, fmt.Errorf("%s: open resource %q: %w", op, spec.Name, err)
			}
		}
		e.conns[spec.Name] = c
		if err := e.checkPrivileges(ctx, spec, c); err != nil {
			e.Close()
			return nil, fmt.Errorf("%s: resource %q: %w", op, spec.Name, err)
		}
	}
	if err := e.buildTools(); err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
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
		return nil, fmt.Errorf("%s: state directory: %w", op, err)
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
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if e.audit, err = audit.Open(settings.StateDir, aopts); err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: audit log: %w", op, err)
	}
	// Approvals are sealed with the audit key, and every decision is in the
	// audit log before it takes effect.
	if e.approvals, err = approval.Open(settings.StateDir, approval.Options{TTL: settings.ApprovalTTL, Now: opts.Now, Key: aopts.Key, Record: e.recordDecision}); err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: approvals: %w", op, err)
	}
	if e.journal, err = journal.Open(settings.StateDir, journal.Options{MaxBytes: settings.JournalMaxBytes, MaxAge: settings.JournalMaxAge, Now: opts.Now, Reserve: e.reserve}); err != nil {
		e.Close()
		return nil, fmt.Errorf("%s: journal: %w", op, err)
	}
	return e, nil
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

// Redact removes the policy's secrets from s.
func (e *Engine) Redact(s string) string { return e.redactor.String(s) }

// Close releases connectors and the state directory. It is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		for _, c := range e.conns {
			if cl, ok := c.(io.Closer); ok {
				errs = append(errs, cl.Close())
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
