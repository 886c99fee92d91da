package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// One resource that cannot be opened (a database file not there yet, a
// database still starting) does not take the others down: the engine
// starts with the resources that open, reports each one that does not
// (once, with its place in the policy and the cause; again only if the
// cause changes), offers none of its tools, and tries it again in the
// background on a capped exponential schedule until it opens or the engine
// closes. [Options.NoRetry] turns the retries off for one-shot commands;
// a call of such a resource's tool then fails with resource-unavailable,
// its Err the [ResourceError]. When it opens, its tools
// join the set and the listeners registered with [Engine.OnToolsChanged]
// are told, so the MCP face can announce the new list.
//
// With strict resources (the policy's settings.strict_resources, or
// [Options.StrictResources]) a resource that cannot be opened makes New
// fail instead.
//
// strict_credentials keeps refusing the start when the resource opens at
// once. A resource that opens only later and then fails its credentials
// check stays unavailable for the life of the engine: it is reported once,
// with the findings, and no longer retried (its tools never appear), since
// the login is a configuration matter and serving it would break the
// promise strict_credentials makes.
//
// The set of open resources and their tools is an immutable snapshot
// behind an atomic pointer: the call path reads it without a lock, and a
// resource that opens replaces it whole.

// Backoff is the schedule on which a resource that failed to open is tried
// again: after First, then after twice as long each time, up to Max.
type Backoff struct {
	First time.Duration
	Max   time.Duration
}

// DefaultBackoff is the retry schedule when [Options.Retry] is zero.
var DefaultBackoff = Backoff{First: time.Second, Max: time.Minute}

// openTimeout bounds one attempt to open a resource, at the start or in
// the background, so a server that accepts connections but never answers
// cannot stall it.
const openTimeout = 30 * time.Second

// ResourceError says why a resource is unavailable, for the operator:
// "warden.yaml:7:5: resource "shop": cause".
type ResourceError struct {
	Position string // the resource's place in the policy, "file:line:col", or ""
	Resource string
	Err      error
}

func (e *ResourceError) Error() string {
	var b strings.Builder
	if e.Position != "" {
		b.WriteString(e.Position + ": ")
	}
	fmt.Fprintf(&b, "resource %q: %v", e.Resource, e.Err)
	return b.String()
}

func (e *ResourceError) Unwrap() error { return e.Err }

// ResourceEvent tells the operator that a resource could not be opened, or
// has opened after all.
type ResourceEvent struct {
	Resource string
	// Err says why the resource is unavailable; nil when it has just
	// opened and its tools are offered.
	Err *ResourceError
	// Retrying reports that the engine keeps trying to open it.
	Retrying bool
	// Message is Err's text with the policy's secrets removed, for
	// printing.
	Message string
}

// resourceSet is what the engine serves at one moment. It is never
// changed once published: a resource that opens brings a new set.
type resourceSet struct {
	conns map[string]core.Connector   // open resources, by name
	down  map[string]*ResourceError   // resources not open, by name
	tools map[string]map[string]*Tool // agent → tool name → tool
	order map[string][]*Tool          // agent → tools in policy order
}

// resources holds what changes the set at run time: the background
// retries and the listeners.
type resources struct {
	mu        sync.Mutex // serialises changes of the set, listeners and closing
	closed    bool
	ctx       context.Context // cancelled by Close: ends the retries
	cancel    context.CancelFunc
	wg        sync.WaitGroup // the retries running
	listeners map[int]func()
	next      int
}

// pendingResource is a resource whose connector is built but not open.
type pendingResource struct {
	spec  *core.ResourceSpec
	conn  core.Connector
	build func() (core.Connector, error) // a fresh connector for a retry
}

// set returns the resources and tools served now.
func (e *Engine) set() *resourceSet { return e.current.Load() }

// conn returns the open connector of a resource, or nil.
func (e *Engine) conn(resource string) core.Connector { return e.set().conns[resource] }

// OnToolsChanged registers f to be called after the tool set changed (a
// resource that failed to open has opened). f runs on the engine's
// goroutine and must not block long nor call OnToolsChanged itself. The
// returned function unregisters f.
func (e *Engine) OnToolsChanged(f func()) (cancel func()) {
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	id := e.res.next
	e.res.next++
	e.res.listeners[id] = f
	return func() {
		e.res.mu.Lock()
		defer e.res.mu.Unlock()
		delete(e.res.listeners, id)
	}
}

// Unavailable returns why each resource that is not open now is not, in
// policy order.
func (e *Engine) Unavailable() []*ResourceError {
	s := e.set()
	var out []*ResourceError
	for _, spec := range e.policy.Resources() {
		if re := s.down[spec.Name]; re != nil {
			out = append(out, re)
		}
	}
	return out
}

// openResources opens the connectors built by New. A resource that fails
// is reported and retried, or, with strict resources, fails the start.
func (e *Engine) openResources(ctx context.Context, pending []pendingResource, strict bool) error {
	e.res.ctx, e.res.cancel = context.WithCancel(context.WithoutCancel(ctx))
	e.res.listeners = map[int]func(){}
	set := &resourceSet{conns: map[string]core.Connector{}, down: map[string]*ResourceError{}}
	e.current.Store(set)
	var retry []pendingResource
	for i, r := range pending {
		// Bounded: a server that accepts but never answers makes the
		// resource unavailable (and retried), not the start hang.
		octx, cancel := context.WithTimeout(ctx, openTimeout)
		err := openConn(octx, r.conn)
		cancel()
		if err != nil {
			closeConn(r.conn)
			re := &ResourceError{Position: r.spec.Position, Resource: r.spec.Name, Err: err}
			if strict {
				for _, later := range pending[i+1:] {
					closeConn(later.conn)
				}
				return re
			}
			set.down[r.spec.Name] = re
			retry = append(retry, r)
			e.report(ResourceEvent{Resource: r.spec.Name, Err: re, Retrying: !e.opts.NoRetry})
			continue
		}
		set.conns[r.spec.Name] = r.conn
		if err := e.checkPrivileges(ctx, r.spec, r.conn); err != nil {
			for _, later := range pending[i+1:] {
				closeConn(later.conn)
			}
			return &ResourceError{Position: r.spec.Position, Resource: r.spec.Name, Err: err}
		}
	}
	var err error
	if set.tools, set.order, err = e.buildTools(set.conns); err != nil {
		return err
	}
	if e.opts.NoRetry {
		return nil
	}
	for _, r := range retry {
		e.res.wg.Add(1)
		go e.retry(r.spec, r.build, set.down[r.spec.Name].Err.Error())
	}
	return nil
}

// retry tries to open a resource on the backoff schedule until it opens,
// fails for good, or the engine closes. A failure is reported again only
// when its cause changes (a file that appeared but cannot be read): the
// same cause once is enough.
func (e *Engine) retry(spec *core.ResourceSpec, build func() (core.Connector, error), reported string) {
	defer e.res.wg.Done()
	b := e.opts.Retry
	if b.First <= 0 {
		b.First = DefaultBackoff.First
	}
	if b.Max < b.First {
		b.Max = max(b.First, DefaultBackoff.Max)
	}
	delay := b.First
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-e.res.ctx.Done():
			return
		case <-t.C:
		}
		done, err := e.tryOpen(spec, build)
		if done {
			return
		}
		if msg := err.Error(); msg != reported {
			reported = msg
			re := &ResourceError{Position: spec.Position, Resource: spec.Name, Err: err}
			e.markDown(re)
			e.report(ResourceEvent{Resource: spec.Name, Err: re, Retrying: true})
		}
		delay = min(delay*2, b.Max)
		t.Reset(delay)
	}
}

// tryOpen makes one attempt to open a resource. It reports whether the
// retries are over: the resource opened, failed for good, or the engine
// closed; if not, why it did not open.
func (e *Engine) tryOpen(spec *core.ResourceSpec, build func() (core.Connector, error)) (done bool, err error) {
	ctx, cancel := context.WithTimeout(e.res.ctx, openTimeout)
	defer cancel()
	final := func(err error) (bool, error) {
		if e.res.ctx.Err() != nil {
			return true, nil // closing: nothing to report
		}
		re := &ResourceError{Position: spec.Position, Resource: spec.Name, Err: err}
		e.markDown(re)
		e.report(ResourceEvent{Resource: spec.Name, Err: re})
		return true, nil
	}
	c, err := build()
	if err != nil {
		return final(err)
	}
	if err := openConn(ctx, c); err != nil {
		closeConn(c)
		if e.res.ctx.Err() != nil {
			return true, nil
		}
		e.log.Debug("resource still cannot be opened; trying again later", "resource", spec.Name, "err", e.Redact(err.Error()))
		return false, err
	}
	if err := e.checkPrivileges(ctx, spec, c); err != nil {
		closeConn(c)
		return final(fmt.Errorf("%w; its tools stay unavailable until Warden restarts", err))
	}
	if err := e.install(spec.Name, c); err != nil {
		closeConn(c)
		if errors.Is(err, errClosed) {
			return true, nil
		}
		return final(err)
	}
	e.report(ResourceEvent{Resource: spec.Name})
	return true, nil
}

var errClosed = errors.New("the engine is closed")

// install publishes a set with the newly opened resource and its tools,
// then tells the listeners.
func (e *Engine) install(name string, c core.Connector) error {
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	if e.res.closed {
		return errClosed
	}
	old := e.set()
	next := &resourceSet{conns: make(map[string]core.Connector, len(old.conns)+1), down: map[string]*ResourceError{}}
	for k, v := range old.conns {
		next.conns[k] = v
	}
	next.conns[name] = c
	for k, v := range old.down {
		if k != name {
			next.down[k] = v
		}
	}
	var err error
	if next.tools, next.order, err = e.buildTools(next.conns); err != nil {
		return err
	}
	e.current.Store(next)
	for _, f := range e.res.listeners {
		f()
	}
	return nil
}

// markDown records why a resource stays unavailable.
func (e *Engine) markDown(re *ResourceError) {
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	old := e.set()
	next := *old
	next.down = make(map[string]*ResourceError, len(old.down))
	for k, v := range old.down {
		next.down[k] = v
	}
	next.down[re.Resource] = re
	e.current.Store(&next)
}

// report tells the operator about a resource, through Options.OnResource
// or else the logger.
func (e *Engine) report(ev ResourceEvent) {
	if ev.Err != nil {
		ev.Message = e.Redact(ev.Err.Error())
	}
	if f := e.opts.OnResource; f != nil {
		f(ev)
		return
	}
	switch {
	case ev.Err == nil:
		e.log.Info("resource opened; its tools are now offered", "resource", ev.Resource)
	case ev.Retrying:
		e.log.Error("resource unavailable; its tools are not offered until it opens", "err", ev.Message, "retrying", true)
	default:
		e.log.Error("resource unavailable; its tools are not offered", "err", ev.Message)
	}
}

// stopRetries ends the background retries and waits for them; afterwards
// the set no longer changes.
func (e *Engine) stopRetries() {
	if e.res.cancel == nil {
		return
	}
	e.res.mu.Lock()
	e.res.closed = true
	e.res.mu.Unlock()
	e.res.cancel()
	e.res.wg.Wait()
}

// noTool answers a call of a tool the agent does not have now: the tool of
// a resource that is not open says so (the operator's cause goes in Err),
// any other name is unknown.
func (e *Engine) noTool(call core.Call) *Outcome {
	if re := e.downResourceOf(call); re != nil {
		return &Outcome{
			Status:  StatusFailed,
			Reason:  core.ReasonResourceUnavailable,
			Message: fmt.Sprintf("Resource %q is not available now: Warden could not open it. Try again later, or tell the operator.", re.Resource),
			Err:     re,
		}
	}
	return invalid(core.ReasonUnknownTool, e.unknownToolMessage(call), nil)
}

// downResourceOf returns the unavailable resource a tool name belongs to
// ("<resource>_<operation>"), when the agent holds grants on it.
func (e *Engine) downResourceOf(call core.Call) *ResourceError {
	var found *ResourceError
	for name, re := range e.set().down {
		if !strings.HasPrefix(call.Tool, name+"_") || len(e.policy.Actions(call.Agent, name)) == 0 {
			continue
		}
		if found == nil || len(name) > len(found.Resource) {
			found = re
		}
	}
	return found
}

func openConn(ctx context.Context, c core.Connector) error {
	if o, ok := c.(core.Opener); ok {
		return o.Open(ctx)
	}
	return nil
}

func closeConn(c core.Connector) error {
	if cl, ok := c.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// closePending closes connectors built but not yet opened.
func closePending(pending []pendingResource) {
	for _, r := range pending {
		closeConn(r.conn)
	}
}
