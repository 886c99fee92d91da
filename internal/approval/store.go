package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for [Options].
const (
	DefaultTTL    = 10 * time.Minute
	DefaultRetain = 7 * 24 * time.Hour
	DefaultPoll   = 200 * time.Millisecond
)

// pruneEvery bounds how often Request removes old finished approvals.
const pruneEvery = time.Minute

// Options configure a [Store]. The zero value uses every default.
type Options struct {
	// TTL is how long an approval stays usable after the call that asked
	// for it. Default 10 minutes.
	TTL time.Duration
	// Retain is how long finished approvals (denied, used, expired) are
	// kept before Request prunes them. Default 7 days.
	Retain time.Duration
	// Now returns the current time. Default time.Now; tests inject a clock.
	Now func() time.Time
	// Poll is how often Wait rereads the approval. Default 200ms.
	Poll time.Duration
	// Key, if set, is the audit log's key: every approval file is then
	// sealed with a MAC under a key derived from it, and a file whose seal
	// is missing or wrong is never acted on. A call it claims to approve
	// is refused with [ErrForged].
	Key []byte
	// Record, if set, writes a decision's audit record and returns its ID.
	// Decide calls it, under the store's lock, after checking the decision
	// may be made and before saving it: if Record fails, the decision is
	// not saved and no call runs on it. Warden sets it whenever it has an
	// audit log, so every decision is in the log before its call runs.
	Record func(a *Approval) (auditID string, err error)
}

// Store keeps approvals in a state directory shared by several processes.
// Its methods are safe for concurrent use, within a process and across
// processes using the same directory.
type Store struct {
	dir  string // <state dir>/approvals
	opts Options
	seal sealer

	mu        sync.Mutex // with the flock, serialises every read-modify-write
	lastPrune time.Time  // guarded by mu
	// final maps IDs seen in a final state to when they finished; guarded
	// by mu. Such files never change again, so Request skips rereading
	// them. Skipping can only make a call not match, never authorise it.
	final map[string]time.Time
}

// Open returns the store kept in dir/approvals, creating the directory
// (mode 0700) if needed. It refuses a directory other users can write to,
// since anyone who can write there can approve calls.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open approvals: empty state directory")
	}
	adir := filepath.Join(dir, "approvals")
	if err := os.MkdirAll(adir, 0o700); err != nil {
		return nil, fmt.Errorf("open approvals: %w", err)
	}
	fi, err := os.Lstat(adir)
	if err != nil {
		return nil, fmt.Errorf("open approvals: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open approvals: %s is not a directory", adir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("open approvals: %s is writable by other users (mode %#o); run chmod 700 on it", adir, perm)
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Retain <= 0 {
		opts.Retain = DefaultRetain
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	s := &Store{dir: adir, opts: opts, seal: newSealer(opts.Key), final: map[string]time.Time{}}
	// Take the lock once so a lock that can never work fails here, not on
	// the first call.
	if err := s.locked(func() error { return nil }); err != nil {
		return nil, fmt.Errorf("open approvals: %w", err)
	}
	return s, nil
}

// locked runs fn holding both the in-process mutex and the directory flock.
func (s *Store) locked(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockFile(filepath.Join(s.dir, lockName))
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// now returns the store's clock in UTC, without a monotonic reading, so
// times compare the same before and after a trip through a file.
func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// expire marks a expired if its time is up while it is pending or approved,
// and saves that; otherwise it does nothing.
func (s *Store) expire(a *Approval, now time.Time) error {
	if (a.Status == StatusPending || a.Status == StatusApproved) && !now.Before(a.Expires) {
		a.Status = StatusExpired
		return s.save(a)
	}
	return nil
}

// Request is called each time a call needing approval arrives. It returns
// the approval that governs the call and what to do:
//
//   - [Refused] if a human denied an identical call and the agent has not
//     been told yet. The denial is marked reported, so the next identical
//     call asks again instead.
//   - [Proceed] if an identical call was approved and is unexpired and
//     unused. The approval is durably marked used before Request returns,
//     so of any number of racing identical calls exactly one proceeds.
//   - [Pending] if an identical call is already waiting for a human.
//   - [Created] otherwise: a new pending approval was written.
//
// Identical means the same [CallHash] of agent, tool and canonical arguments.
// Request also prunes finished approvals older than Options.Retain, at most
// once a minute per Store.
func (s *Store) Request(r NewRequest) (*Approval, Outcome, error) {
	if r.Agent == "" || r.Tool == "" {
		return nil, Pending, errors.New("request approval: agent and tool must be set")
	}
	canon, err := CanonicalArgs(r.Args)
	if err != nil {
		return nil, Pending, fmt.Errorf("request approval: %w", err)
	}
	hash := CallHash(r.Agent, r.Tool, canon)
	display, err := displayArgs(r)
	if err != nil {
		return nil, Pending, fmt.Errorf("request approval: %w", err)
	}

	var (
		res *Approval
		out = Pending
	)
	err = s.locked(func() error {
		now := s.now()
		sc, err := s.scan(true)
		if err != nil {
			return err
		}
		// A file that fails its seal and claims to approve this call is a
		// forgery aimed at it (or an approval edited outside Warden): refuse
		// the call, and keep refusing until an operator removes the file.
		// One claiming any other status could not make the call run, so it
		// is passed over like any unreadable file (such as the files of a
		// Warden that did not seal them yet).
		for _, f := range sc.forged {
			if f.Hash == hash && f.Status == StatusApproved {
				return fmt.Errorf("%s: %w: remove %s once investigated", f.ID, ErrForged, s.path(f.ID))
			}
		}
		prune := now.Sub(s.lastPrune) >= pruneEvery
		removed := false
		if prune {
			s.lastPrune = now
			s.removeTemps(sc.temps)
			// Unsealed files that claim to be finished, or to have expired,
			// go when sealed ones would: they can never make a call run.
			for _, f := range sc.forged {
				done := f.Status.finished() || !now.Before(f.Expires)
				if done && !finishedAt(f).Add(s.opts.Retain).After(now) && os.Remove(s.path(f.ID)) == nil {
					removed = true
				}
			}
			for id, t := range s.final {
				if !t.Add(s.opts.Retain).After(now) && os.Remove(s.path(id)) == nil {
					delete(s.final, id)
					removed = true
				}
			}
		}
		var denied, approved, pending *Approval
		for _, a := range sc.approvals {
			if err := s.expire(a, now); err != nil {
				return err
			}
			if prune && a.Status.finished() && !finishedAt(a).Add(s.opts.Retain).After(now) {
				// A failed removal is retried at the next prune.
				if os.Remove(s.path(a.ID)) == nil {
					delete(s.final, a.ID)
					removed = true
				}
				continue
			}
			if a.Hash != hash {
				continue
			}
			// scan sorts oldest first, so each pick is the oldest match.
			switch {
			case a.Status == StatusDenied && !a.Reported && denied == nil:
				denied = a
			case a.Status == StatusApproved && approved == nil:
				approved = a
			case a.Status == StatusPending && pending == nil:
				pending = a
			}
		}
		if removed {
			if err := syncDir(s.dir); err != nil {
				return err
			}
		}

		// A denial wins over an approval of the same call: if a human said
		// both, the safe answer is no.
		switch {
		case denied != nil:
			denied.Reported = true
			res, out = denied, Refused
			return s.save(denied)
		case approved != nil:
			approved.Status = StatusUsed
			approved.UsedAt = now
			if err := s.save(approved); err != nil {
				return err // not durably used, so the call must not run
			}
			res, out = approved, Proceed
			return nil
		case pending != nil:
			res, out = pending, Pending
			return nil
		}
		a := &Approval{
			Agent:   r.Agent,
			Tool:    r.Tool,
			Args:    display,
			Blobs:   r.Blobs,
			Hash:    hash,
			Summary: r.Summary,
			Rule:    r.Rule,
			AuditID: r.AuditID,
			Status:  StatusPending,
			Created: now,
			Expires: now.Add(s.opts.TTL),
		}
		if a.ID, err = s.unusedID(); err != nil {
			return err
		}
		if err := s.save(a); err != nil {
			return err
		}
		res, out = a, Created
		return nil
	})
	if err != nil {
		return nil, Pending, fmt.Errorf("request approval: %w", err)
	}
	return res, out, nil
}

// displayArgs returns the arguments to store, compacted, checking that they
// are JSON so a file never fails to encode.
func displayArgs(r NewRequest) (json.RawMessage, error) {
	d := r.Display
	if d == nil {
		d = r.Args
	}
	if len(bytes.Trim(d, " \t\r\n")) == 0 {
		return json.RawMessage("{}"), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d); err != nil {
		return nil, fmt.Errorf("display arguments: %w", err)
	}
	return buf.Bytes(), nil
}

// unusedID returns a new ID with no file yet. A collision at 60 bits is
// vanishingly rare, but overwriting another approval must be impossible.
func (s *Store) unusedID() (string, error) {
	for range 10 {
		id := newID()
		if _, err := os.Lstat(s.path(id)); errors.Is(err, os.ErrNotExist) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", errors.New("new id: no unused id after 10 tries")
}

// removeTemps deletes temp files left by a writer that crashed. Every
// writer holds the lock, so under the lock any temp file is stale.
func (s *Store) removeTemps(names []string) {
	for _, name := range names {
		os.Remove(filepath.Join(s.dir, name))
	}
}

// isFinal reports whether a can never change again, nor match a call.
func isFinal(a *Approval) bool {
	return a.Status == StatusUsed || a.Status == StatusExpired || a.Status == StatusDenied && a.Reported
}

// finishedAt is when a reached its final status, as near as the file says.
func finishedAt(a *Approval) time.Time {
	t := a.Created
	for _, u := range []time.Time{a.Expires, a.DecidedAt, a.UsedAt} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// Decide approves or denies a pending, unexpired approval. by names the
// decider, such as "cli:alice"; note is free text kept with the decision.
// It fails with [ErrNotFound] for an unknown or malformed ID, [ErrExpired]
// once the TTL has passed, and [ErrNotPending] if it was already decided.
func (s *Store) Decide(id string, approve bool, by, note string) (*Approval, error) {
	if by == "" {
		return nil, fmt.Errorf("decide %s: say who decides, such as cli:alice", id)
	}
	var a *Approval
	err := s.withApproval("decide", id, func(got *Approval, now time.Time) error {
		a = got
		switch a.Status {
		case StatusPending:
		case StatusExpired:
			return fmt.Errorf("%w at %s; the agent must make the call again", ErrExpired, stamp(a.Expires))
		case StatusUsed:
			return fmt.Errorf("%w: approved by %s at %s and used at %s", ErrNotPending, a.DecidedBy, stamp(a.DecidedAt), stamp(a.UsedAt))
		default:
			return fmt.Errorf("%w: %s by %s at %s", ErrNotPending, a.Status, a.DecidedBy, stamp(a.DecidedAt))
		}
		a.Status = StatusDenied
		if approve {
			a.Status = StatusApproved
		}
		a.DecidedBy = by
		a.DecidedAt = now
		a.Note = note
		if s.opts.Record != nil {
			// The decision is in the audit log before it can take effect;
			// a decision that cannot be recorded is not made.
			id, err := s.opts.Record(a)
			if err != nil {
				return fmt.Errorf("record the decision in the audit log: %w; the approval stays %s", err, StatusPending)
			}
			a.DecisionAuditID = id
		}
		return s.save(a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Consume uses an approval that a waiting call asked for: if it is approved,
// unexpired and unused and its Hash equals hash, it is durably marked used
// and returned, and the caller runs the call once. The caller computes hash
// from the call it is about to run, with [CallHash] and [CanonicalArgs],
// rather than copying it from the approval, so the check means something. Otherwise the error says
// why: [ErrHashMismatch] (the approval is for a different call),
// [ErrPending], [ErrDenied], [ErrUsed], [ErrExpired] or [ErrNotFound].
//
// Consuming a denied approval marks the denial reported, as [Store.Request]
// would, so the caller may call Consume after [Store.Wait] whatever the
// outcome and the agent is told of each denial only once.
func (s *Store) Consume(id, hash string) (*Approval, error) {
	var a *Approval
	err := s.withApproval("consume", id, func(got *Approval, now time.Time) error {
		if got.Hash != hash {
			return fmt.Errorf("%w: agent, tool or arguments differ from those approved", ErrHashMismatch)
		}
		switch got.Status {
		case StatusPending:
			return fmt.Errorf("%w; no human has decided yet", ErrPending)
		case StatusDenied:
			if !got.Reported {
				got.Reported = true
				if err := s.save(got); err != nil {
					return err
				}
			}
			if got.Note != "" {
				return fmt.Errorf("%w by %s: %s", ErrDenied, got.DecidedBy, got.Note)
			}
			return fmt.Errorf("%w by %s", ErrDenied, got.DecidedBy)
		case StatusUsed:
			return fmt.Errorf("%w at %s; each approval runs one call", ErrUsed, stamp(got.UsedAt))
		case StatusExpired:
			return fmt.Errorf("%w at %s; the agent must make the call again", ErrExpired, stamp(got.Expires))
		}
		got.Status = StatusUsed
		got.UsedAt = now
		if err := s.save(got); err != nil {
			return err
		}
		a = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Get returns the approval with the given ID, marking it expired first if
// its time is up.
func (s *Store) Get(id string) (*Approval, error) { return s.get("get", id) }

func (s *Store) get(op, id string) (*Approval, error) {
	var a *Approval
	err := s.withApproval(op, id, func(got *Approval, _ time.Time) error {
		a = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// withApproval loads id under the lock, expires it if due, and passes it to
// fn. Errors come back as "op id: detail".
func (s *Store) withApproval(op, id string, fn func(a *Approval, now time.Time) error) error {
	if !validID(id) {
		return fmt.Errorf("%s %q: %w (IDs are ap_ and 12 characters from a-z and 2-7)", op, id, ErrNotFound)
	}
	err := s.locked(func() error {
		a, err := s.load(id)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.expire(a, now); err != nil {
			return err
		}
		return fn(a, now)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	return nil
}

// Wait blocks until the approval leaves pending (approved, denied or
// expired) and returns it, or until ctx ends, returning ctx's cause. It
// polls the file, so it sees decisions made by other processes.
func (s *Store) Wait(ctx context.Context, id string) (*Approval, error) {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		a, err := s.get("wait", id)
		if err != nil {
			return nil, err
		}
		if a.Status != StatusPending {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait %s: %w", id, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// ListFilter selects approvals for [Store.List]. Empty fields match all.
type ListFilter struct {
	Status []Status
	Agent  string
}

// List returns the matching approvals, oldest first, marking expired ones
// on the way. Files that cannot be read are skipped; the error then joins
// one error per such file (each wrapping [ErrCorrupt]) and is returned
// together with the approvals that could be read.
func (s *Store) List(f ListFilter) ([]*Approval, error) {
	var (
		list []*Approval
		bad  []error
	)
	err := s.locked(func() error {
		now := s.now()
		sc, err := s.scan(false)
		if err != nil {
			return err
		}
		bad = sc.bad
		for _, a := range sc.approvals {
			if err := s.expire(a, now); err != nil {
				return err
			}
			if f.Agent != "" && a.Agent != f.Agent {
				continue
			}
			if len(f.Status) > 0 && !slices.Contains(f.Status, a.Status) {
				continue
			}
			list = append(list, a)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	if len(bad) > 0 {
		return list, fmt.Errorf("list approvals: skipped %d unreadable: %w", len(bad), errors.Join(bad...))
	}
	return list, nil
}

func sortApprovals(list []*Approval) {
	slices.SortFunc(list, func(a, b *Approval) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
