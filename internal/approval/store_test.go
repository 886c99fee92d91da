package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a settable time source shared by the stores of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newStore opens a store in dir with the test clock (nil: the real one) and
// a fast poll interval.
func newStore(tb testing.TB, dir string, c *clock) *Store {
	tb.Helper()
	opts := Options{Poll: 5 * time.Millisecond}
	if c != nil {
		opts.Now = c.Now
	}
	s, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%q) error: %v", dir, err)
	}
	return s
}

func call(agent, tool, args string) NewRequest {
	return NewRequest{Agent: agent, Tool: tool, Args: json.RawMessage(args), Summary: "test call"}
}

var defaultCall = call("assistant", "fs_write", `{"path":"drafts/a.md","content":"hello"}`)

func mustRequest(tb testing.TB, s *Store, r NewRequest) (*Approval, Outcome) {
	tb.Helper()
	a, out, err := s.Request(r)
	if err != nil {
		tb.Fatalf("Request(%s %s %s) error: %v", r.Agent, r.Tool, r.Args, err)
	}
	return a, out
}

func mustDecide(tb testing.TB, s *Store, id string, approve bool) *Approval {
	tb.Helper()
	a, err := s.Decide(id, approve, "cli:tester", "")
	if err != nil {
		tb.Fatalf("Decide(%s, %v) error: %v", id, approve, err)
	}
	return a
}

func mustGet(tb testing.TB, s *Store, id string) *Approval {
	tb.Helper()
	a, err := s.Get(id)
	if err != nil {
		tb.Fatalf("Get(%s) error: %v", id, err)
	}
	return a
}

// step is one action in a state machine scenario. Approvals are named by
// label: a request expecting Created binds a new label, and every other
// step refers to an approval already bound.
type step struct {
	do         string // "request", "approve", "deny", "advance", "status"
	label      string
	call       NewRequest // for "request"; zero means defaultCall
	want       Outcome    // for "request"
	wantStatus Status     // for "request" and "status"
	d          time.Duration
}

func request(label string, want Outcome, wantStatus Status) step {
	return step{do: "request", label: label, want: want, wantStatus: wantStatus}
}

func requestCall(label string, c NewRequest, want Outcome) step {
	s := request(label, want, StatusPending)
	s.call = c
	return s
}

func TestStore_Request(t *testing.T) {
	const (
		approve = "approve"
		deny    = "deny"
		advance = "advance"
		status  = "status"
	)
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "pending then approved then used once",
			steps: []step{
				request("a", Created, StatusPending),
				request("a", Pending, StatusPending),
				{do: approve, label: "a"},
				request("a", Proceed, StatusUsed),
				{do: status, label: "a", wantStatus: StatusUsed},
				request("b", Created, StatusPending), // a used approval never runs a second call
			},
		},
		{
			name: "denied is refused once then asks again",
			steps: []step{
				request("a", Created, StatusPending),
				{do: deny, label: "a"},
				request("a", Refused, StatusDenied),
				request("b", Created, StatusPending),
				request("b", Pending, StatusPending),
				{do: status, label: "a", wantStatus: StatusDenied},
			},
		},
		{
			name: "pending still pending just before expiry",
			steps: []step{
				request("a", Created, StatusPending),
				{do: advance, d: DefaultTTL - time.Nanosecond},
				request("a", Pending, StatusPending),
			},
		},
		{
			name: "pending expires",
			steps: []step{
				request("a", Created, StatusPending),
				{do: advance, d: DefaultTTL},
				{do: status, label: "a", wantStatus: StatusExpired},
				request("b", Created, StatusPending),
			},
		},
		{
			name: "pending expires untouched then next call creates",
			steps: []step{
				request("a", Created, StatusPending),
				{do: advance, d: DefaultTTL + time.Second},
				request("b", Created, StatusPending),
				{do: status, label: "a", wantStatus: StatusExpired},
			},
		},
		{
			name: "approved expires before use",
			steps: []step{
				request("a", Created, StatusPending),
				{do: approve, label: "a"},
				{do: advance, d: DefaultTTL},
				request("b", Created, StatusPending),
				{do: status, label: "a", wantStatus: StatusExpired},
				{do: approve, label: "b"},
				request("b", Proceed, StatusUsed),
			},
		},
		{
			name: "key order change maps to the same approval",
			steps: []step{
				requestCall("a", call("assistant", "fs_write", `{"path":"a.md","content":"x"}`), Created),
				requestCall("a", call("assistant", "fs_write", `{ "content": "x", "path": "a.md" }`), Pending),
				{do: approve, label: "a"},
				{
					do: "request", label: "a", want: Proceed, wantStatus: StatusUsed,
					call: call("assistant", "fs_write", `{"content":"x","path":"a.md"}`),
				},
			},
		},
		{
			name: "value change needs its own approval",
			steps: []step{
				requestCall("a", call("assistant", "fs_write", `{"path":"a.md","content":"x"}`), Created),
				{do: approve, label: "a"},
				requestCall("b", call("assistant", "fs_write", `{"path":"a.md","content":"y"}`), Created),
				requestCall("c", call("assistant", "fs_write", `{"path":"a.md","content":"x","mode":1}`), Created),
				{
					do: "request", label: "a", want: Proceed, wantStatus: StatusUsed,
					call: call("assistant", "fs_write", `{"path":"a.md","content":"x"}`),
				},
				{do: status, label: "b", wantStatus: StatusPending},
			},
		},
		{
			name: "different agent needs its own approval",
			steps: []step{
				requestCall("a", call("assistant", "fs_write", `{}`), Created),
				{do: approve, label: "a"},
				requestCall("b", call("intern", "fs_write", `{}`), Created),
				{do: status, label: "a", wantStatus: StatusApproved},
			},
		},
		{
			name: "different tool needs its own approval",
			steps: []step{
				requestCall("a", call("assistant", "fs_write", `{}`), Created),
				{do: approve, label: "a"},
				requestCall("b", call("assistant", "fs_delete", `{}`), Created),
				{do: status, label: "a", wantStatus: StatusApproved},
			},
		},
		{
			name: "empty and null arguments are one call",
			steps: []step{
				requestCall("a", call("assistant", "fs_list", ``), Created),
				requestCall("a", call("assistant", "fs_list", `null`), Pending),
				requestCall("a", call("assistant", "fs_list", `{}`), Pending),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := newStore(t, t.TempDir(), c)
			ids := map[string]string{}
			for i, st := range tt.steps {
				switch st.do {
				case "request":
					r := st.call
					if r.Agent == "" {
						r = defaultCall
					}
					a, out := mustRequest(t, s, r)
					if out != st.want {
						t.Fatalf("step %d: Request(%s) = %v, want %v", i, r.Args, out, st.want)
					}
					if a.Status != st.wantStatus {
						t.Errorf("step %d: Request(%s) status = %s, want %s", i, r.Args, a.Status, st.wantStatus)
					}
					if st.want == Created {
						if _, seen := ids[st.label]; seen {
							t.Fatalf("step %d: bad test: label %q bound twice", i, st.label)
						}
						for l, id := range ids {
							if id == a.ID {
								t.Fatalf("step %d: Request created %s, which is already %q", i, a.ID, l)
							}
						}
						ids[st.label] = a.ID
					} else if want := ids[st.label]; a.ID != want {
						t.Errorf("step %d: Request(%s) returned %s, want %q = %s", i, r.Args, a.ID, st.label, want)
					}
				case approve, deny:
					mustDecide(t, s, ids[st.label], st.do == approve)
				case advance:
					c.Advance(st.d)
				case status:
					if got := mustGet(t, s, ids[st.label]).Status; got != st.wantStatus {
						t.Errorf("step %d: Get(%q).Status = %s, want %s", i, st.label, got, st.wantStatus)
					}
				default:
					t.Fatalf("step %d: bad test: unknown step %q", i, st.do)
				}
			}
		})
	}
}

func TestStore_Request_record(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	r := NewRequest{
		Agent:   "assistant",
		Tool:    "http_post",
		Args:    json.RawMessage(`{"url":"https://x.test/","token":"s3cret"}`),
		Display: json.RawMessage(`{ "url": "https://x.test/", "token": "[redacted]" }`),
		Summary: "post https://x.test/",
		Rule:    "agents.assistant.grants[2]",
		AuditID: "au_1",
	}
	got, out := mustRequest(t, s, r)
	if out != Created {
		t.Fatalf("Request() = %v, want %v", out, Created)
	}
	want := &Approval{
		ID:      got.ID,
		Agent:   "assistant",
		Tool:    "http_post",
		Args:    json.RawMessage(`{"url":"https://x.test/","token":"[redacted]"}`),
		Hash:    CallHash("assistant", "http_post", mustCanonical(t, string(r.Args))),
		Summary: "post https://x.test/",
		Rule:    "agents.assistant.grants[2]",
		AuditID: "au_1",
		Status:  StatusPending,
		Created: c.Now(),
		Expires: c.Now().Add(DefaultTTL),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Request() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustGet(t, s, got.ID)); diff != "" {
		t.Errorf("Get() after Request mismatch (-want +got):\n%s", diff)
	}
	if !validID(got.ID) {
		t.Errorf("Request() ID = %q, want ap_ and 12 base32 characters", got.ID)
	}

	// The secret was in Args but must not reach the disk: only Display is kept.
	data, err := os.ReadFile(filepath.Join(s.dir, got.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "s3cret") {
		t.Errorf("approval file holds the unredacted argument:\n%s", data)
	}
}

func TestStore_Request_invalid(t *testing.T) {
	s := newStore(t, t.TempDir(), newClock())
	tests := []struct {
		name string
		r    NewRequest
	}{
		{name: "invalid args", r: call("assistant", "fs_write", `{"a":`)},
		{name: "duplicate keys", r: call("assistant", "fs_write", `{"a":1,"a":2}`)},
		{name: "no agent", r: call("", "fs_write", `{}`)},
		{name: "no tool", r: call("assistant", "", `{}`)},
		{name: "invalid display", r: NewRequest{Agent: "a", Tool: "t", Args: json.RawMessage(`{}`), Display: json.RawMessage(`{`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, out, err := s.Request(tt.r); err == nil {
				t.Errorf("Request(%+v) = %v, %v, want error", tt.r, a, out)
			}
		})
	}
	list, err := s.List(ListFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("List() after invalid requests = %d approvals, %v; want none", len(list), err)
	}
}

func TestStore_Decide(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	expired, _ := mustRequest(t, s, call("assistant", "t", `{"n":0}`))
	expiredApproved, _ := mustRequest(t, s, call("assistant", "t", `{"n":1}`))
	mustDecide(t, s, expiredApproved.ID, true)
	c.Advance(DefaultTTL)
	pending, _ := mustRequest(t, s, call("assistant", "t", `{"n":1}`))
	approved, _ := mustRequest(t, s, call("assistant", "t", `{"n":2}`))
	mustDecide(t, s, approved.ID, true)
	denied, _ := mustRequest(t, s, call("assistant", "t", `{"n":3}`))
	mustDecide(t, s, denied.ID, false)
	used, _ := mustRequest(t, s, call("assistant", "t", `{"n":4}`))
	mustDecide(t, s, used.ID, true)
	if _, out := mustRequest(t, s, call("assistant", "t", `{"n":4}`)); out != Proceed {
		t.Fatalf("Request after approve = %v, want %v", out, Proceed)
	}

	// A file named like a traversal target must stay unreachable.
	if err := os.WriteFile(filepath.Join(filepath.Dir(s.dir), "x.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		id      string
		wantErr error
		wantMsg string
	}{
		{name: "unknown", id: "ap_aaaaaaaaaaaa", wantErr: ErrNotFound},
		{name: "traversal", id: "../../etc/passwd", wantErr: ErrNotFound},
		{name: "traversal to sibling", id: "../x", wantErr: ErrNotFound},
		{name: "prefix only", id: "ap_", wantErr: ErrNotFound},
		{name: "empty", id: "", wantErr: ErrNotFound},
		{name: "uppercase", id: strings.ToUpper(pending.ID), wantErr: ErrNotFound},
		{name: "uppercase body", id: "ap_" + strings.ToUpper(pending.ID[3:]), wantErr: ErrNotFound},
		{name: "too long", id: pending.ID + "a", wantErr: ErrNotFound},
		{name: "digit outside alphabet", id: "ap_aaaaaaaaaaa1", wantErr: ErrNotFound},
		{name: "with extension", id: pending.ID[:len(pending.ID)-5] + ".json", wantErr: ErrNotFound},
		{name: "already approved", id: approved.ID, wantErr: ErrNotPending, wantMsg: "approved by cli:tester"},
		{name: "already denied", id: denied.ID, wantErr: ErrNotPending, wantMsg: "denied by cli:tester"},
		{name: "already used", id: used.ID, wantErr: ErrNotPending, wantMsg: "used at"},
		{name: "expired", id: expired.ID, wantErr: ErrExpired, wantMsg: "the agent must make the call again"},
		{name: "approved then expired", id: expiredApproved.ID, wantErr: ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := s.Decide(tt.id, true, "cli:other", "")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decide(%q) = %v, %v; want error %v", tt.id, a, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Decide(%q) error = %q, want it to contain %q", tt.id, err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "failed to") {
				t.Errorf("Decide(%q) error = %q, want house style", tt.id, err)
			}
		})
	}

	// A failed Decide changes nothing.
	if got := mustGet(t, s, approved.ID); got.DecidedBy != "cli:tester" || got.Status != StatusApproved {
		t.Errorf("after rejected Decide, Get(%s) = %s by %s, want approved by cli:tester", approved.ID, got.Status, got.DecidedBy)
	}
}

func TestStore_Decide_record(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	a, _ := mustRequest(t, s, defaultCall)
	c.Advance(time.Minute)
	got, err := s.Decide(a.ID, false, "cli:alice", "not that file")
	if err != nil {
		t.Fatalf("Decide() error: %v", err)
	}
	want := *a
	want.Status = StatusDenied
	want.DecidedBy = "cli:alice"
	want.DecidedAt = c.Now()
	want.Note = "not that file"
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
	}
	if _, err := s.Decide(a.ID, true, "", ""); err == nil {
		t.Errorf("Decide(%s) with no decider succeeded, want error", a.ID)
	}
}

func TestStore_restart(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	a, out := mustRequest(t, newStore(t, dir, c), defaultCall)
	if out != Created {
		t.Fatalf("Request() = %v, want %v", out, Created)
	}

	// Each step uses a fresh Store, as separate processes would.
	mustDecide(t, newStore(t, dir, c), a.ID, true)
	got, out := mustRequest(t, newStore(t, dir, c), defaultCall)
	if out != Proceed || got.ID != a.ID {
		t.Errorf("Request() after reopen = %v %s, want %v %s", out, got.ID, Proceed, a.ID)
	}
	if _, out := mustRequest(t, newStore(t, dir, c), defaultCall); out != Created {
		t.Errorf("second Request() after reopen = %v, want %v", out, Created)
	}
}

func TestStore_Request_concurrent(t *testing.T) {
	const n = 20
	tests := []struct {
		name       string
		shareStore bool
	}{
		{name: "one store", shareStore: true},
		{name: "a store per goroutine", shareStore: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, dir, nil)
			a, _ := mustRequest(t, s, defaultCall)
			mustDecide(t, s, a.ID, true)

			stores := make([]*Store, n)
			for i := range stores {
				stores[i] = s
				if !tt.shareStore {
					stores[i] = newStore(t, dir, nil)
				}
			}
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				outs  = make([]Outcome, n)
				errs  = make([]error, n)
			)
			for i := range n {
				wg.Go(func() {
					<-start
					_, outs[i], errs[i] = stores[i].Request(defaultCall)
				})
			}
			close(start)
			wg.Wait()

			counts := map[Outcome]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("Request() in goroutine %d error: %v", i, errs[i])
				}
				counts[outs[i]]++
			}
			// One runs; the next finds only a used approval and asks anew;
			// the rest join that new pending approval.
			want := map[Outcome]int{Proceed: 1, Created: 1, Pending: n - 2}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("outcomes of %d racing Requests mismatch (-want +got):\n%s", n, diff)
			}
		})
	}
}

func TestStore_Wait(t *testing.T) {
	tests := []struct {
		name       string
		otherStore bool
		approve    bool
		wantStatus Status
	}{
		{name: "approved by same store", approve: true, wantStatus: StatusApproved},
		{name: "denied by same store", approve: false, wantStatus: StatusDenied},
		{name: "approved by another store", otherStore: true, approve: true, wantStatus: StatusApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, dir, nil)
			decider := s
			if tt.otherStore {
				decider = newStore(t, dir, nil)
			}
			a, _ := mustRequest(t, s, defaultCall)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				time.Sleep(30 * time.Millisecond) // let Wait poll at least once
				_, err := decider.Decide(a.ID, tt.approve, "cli:tester", "")
				errc <- err
			}()
			got, err := s.Wait(ctx, a.ID)
			if err != nil {
				t.Fatalf("Wait(%s) error: %v", a.ID, err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("Decide(%s) error: %v", a.ID, err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("Wait(%s).Status = %s, want %s", a.ID, got.Status, tt.wantStatus)
			}
		})
	}
}

func TestStore_Wait_expires(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	a, _ := mustRequest(t, s, defaultCall)
	go func() {
		time.Sleep(30 * time.Millisecond)
		c.Advance(DefaultTTL)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := s.Wait(ctx, a.ID)
	if err != nil {
		t.Fatalf("Wait(%s) error: %v", a.ID, err)
	}
	if got.Status != StatusExpired {
		t.Errorf("Wait(%s).Status = %s, want %s", a.ID, got.Status, StatusExpired)
	}
}

func TestStore_Wait_cancel(t *testing.T) {
	s := newStore(t, t.TempDir(), nil)
	a, _ := mustRequest(t, s, defaultCall)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(30 * time.Millisecond)
		cancel()
	}()
	got, err := s.Wait(ctx, a.ID)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(%s) after cancel = %v, %v; want context.Canceled", a.ID, got, err)
	}
	if _, err := s.Wait(context.Background(), "../x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Wait(%q) = %v, want ErrNotFound", "../x", err)
	}
}

func TestStore_Consume(t *testing.T) {
	tests := []struct {
		name       string
		decide     string // "", "approve" or "deny"
		advance    time.Duration
		otherHash  bool
		times      int // Consume calls; the last is checked
		wantErr    error
		wantStatus Status // status on disk afterwards
	}{
		{name: "approved", decide: "approve", times: 1, wantStatus: StatusUsed},
		{name: "second consume", decide: "approve", times: 2, wantErr: ErrUsed, wantStatus: StatusUsed},
		{name: "hash mismatch", decide: "approve", otherHash: true, times: 1, wantErr: ErrHashMismatch, wantStatus: StatusApproved},
		{name: "pending", times: 1, wantErr: ErrPending, wantStatus: StatusPending},
		{name: "denied", decide: "deny", times: 1, wantErr: ErrDenied, wantStatus: StatusDenied},
		{name: "expired after approval", decide: "approve", advance: DefaultTTL, times: 1, wantErr: ErrExpired, wantStatus: StatusExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := newStore(t, t.TempDir(), c)
			a, _ := mustRequest(t, s, defaultCall)
			if tt.decide != "" {
				mustDecide(t, s, a.ID, tt.decide == "approve")
			}
			c.Advance(tt.advance)
			hash := a.Hash
			if tt.otherHash {
				hash = CallHash("assistant", "fs_write", []byte(`{"path":"other.md"}`))
			}
			var (
				got *Approval
				err error
			)
			for i := 0; i < tt.times; i++ {
				got, err = s.Consume(a.ID, hash)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Consume(%s) = %v, %v; want error %v", a.ID, got, err, tt.wantErr)
			}
			if err == nil && (got.Status != StatusUsed || !got.UsedAt.Equal(c.Now())) {
				t.Errorf("Consume(%s) = %s used at %v, want used at %v", a.ID, got.Status, got.UsedAt, c.Now())
			}
			if st := mustGet(t, s, a.ID).Status; st != tt.wantStatus {
				t.Errorf("after Consume(%s), status = %s, want %s", a.ID, st, tt.wantStatus)
			}
		})
	}
}

// A denial delivered through Consume counts as reported, so the agent's
// retry asks the human again instead of being refused twice.
func TestStore_Consume_reportsDenial(t *testing.T) {
	s := newStore(t, t.TempDir(), newClock())
	a, _ := mustRequest(t, s, defaultCall)
	mustDecide(t, s, a.ID, false)
	if _, err := s.Consume(a.ID, a.Hash); !errors.Is(err, ErrDenied) {
		t.Fatalf("Consume(%s) = %v, want ErrDenied", a.ID, err)
	}
	if b, out := mustRequest(t, s, defaultCall); out != Created || b.ID == a.ID {
		t.Errorf("Request() after denial consumed = %v %s, want %v with a new ID", out, b.ID, Created)
	}
}

// After an approval is consumed by a waiting call, the same call arriving
// through Request must not run a second time.
func TestStore_Consume_thenRequest(t *testing.T) {
	s := newStore(t, t.TempDir(), newClock())
	a, _ := mustRequest(t, s, defaultCall)
	mustDecide(t, s, a.ID, true)
	if _, err := s.Consume(a.ID, a.Hash); err != nil {
		t.Fatalf("Consume(%s) error: %v", a.ID, err)
	}
	if _, out := mustRequest(t, s, defaultCall); out != Created {
		t.Errorf("Request() after Consume = %v, want %v", out, Created)
	}
}

func TestStore_List(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	a1, _ := mustRequest(t, s, call("alice", "t", `{"n":1}`))
	c.Advance(time.Second)
	b1, _ := mustRequest(t, s, call("bob", "t", `{"n":1}`))
	c.Advance(time.Second)
	a2, _ := mustRequest(t, s, call("alice", "t", `{"n":2}`))
	mustDecide(t, s, a2.ID, true)
	c.Advance(time.Second)
	a3, _ := mustRequest(t, s, call("alice", "t", `{"n":3}`))
	mustDecide(t, s, a3.ID, false)

	tests := []struct {
		name   string
		filter ListFilter
		want   []string
	}{
		{name: "all oldest first", filter: ListFilter{}, want: []string{a1.ID, b1.ID, a2.ID, a3.ID}},
		{name: "by agent", filter: ListFilter{Agent: "alice"}, want: []string{a1.ID, a2.ID, a3.ID}},
		{name: "by status", filter: ListFilter{Status: []Status{StatusPending}}, want: []string{a1.ID, b1.ID}},
		{name: "by statuses", filter: ListFilter{Status: []Status{StatusApproved, StatusDenied}}, want: []string{a2.ID, a3.ID}},
		{name: "by agent and status", filter: ListFilter{Agent: "bob", Status: []Status{StatusPending}}, want: []string{b1.ID}},
		{name: "nothing", filter: ListFilter{Agent: "carol"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.List(tt.filter)
			if err != nil {
				t.Fatalf("List(%+v) error: %v", tt.filter, err)
			}
			if diff := cmp.Diff(tt.want, ids(list)); diff != "" {
				t.Errorf("List(%+v) mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}

	// Listing marks expired approvals, pending and approved alike.
	c.Advance(DefaultTTL)
	list, err := s.List(ListFilter{Status: []Status{StatusExpired}})
	if err != nil {
		t.Fatalf("List() error: %v", err)
	}
	if diff := cmp.Diff([]string{a1.ID, b1.ID, a2.ID}, ids(list)); diff != "" {
		t.Errorf("List(expired) after TTL mismatch (-want +got):\n%s", diff)
	}
}

func ids(list []*Approval) []string {
	var out []string
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

// writeApprovalFile writes raw content as the file of id, bypassing the store.
func writeApprovalFile(tb testing.TB, s *Store, id string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(s.path(id), data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func readApprovalFile(tb testing.TB, s *Store, id string) []byte {
	tb.Helper()
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestStore_corruptFailsClosed(t *testing.T) {
	tests := []struct {
		name string
		// corrupt rewrites the approved approval's file, or plants another.
		corrupt func(t *testing.T, s *Store, a *Approval)
	}{
		{name: "truncated", corrupt: func(t *testing.T, s *Store, a *Approval) {
			data := readApprovalFile(t, s, a.ID)
			writeApprovalFile(t, s, a.ID, data[:len(data)/2])
		}},
		{name: "not JSON", corrupt: func(t *testing.T, s *Store, a *Approval) {
			writeApprovalFile(t, s, a.ID, []byte("\x00\x01garbage"))
		}},
		{name: "empty", corrupt: func(t *testing.T, s *Store, a *Approval) {
			writeApprovalFile(t, s, a.ID, nil)
		}},
		{name: "unknown status", corrupt: func(t *testing.T, s *Store, a *Approval) {
			editApproval(t, s, a.ID, func(m map[string]any) { m["status"] = "APPROVED" })
		}},
		{name: "id differs from name", corrupt: func(t *testing.T, s *Store, a *Approval) {
			// Copying an approved file under a new name must not mint a second approval.
			data := readApprovalFile(t, s, a.ID)
			if err := os.Remove(s.path(a.ID)); err != nil {
				t.Fatal(err)
			}
			writeApprovalFile(t, s, "ap_copycopycopy", data)
		}},
		{name: "malformed hash", corrupt: func(t *testing.T, s *Store, a *Approval) {
			editApproval(t, s, a.ID, func(m map[string]any) { m["hash"] = strings.ToUpper(a.Hash) })
		}},
		{name: "symlink", corrupt: func(t *testing.T, s *Store, a *Approval) {
			target := filepath.Join(t.TempDir(), "elsewhere.json")
			if err := os.Rename(s.path(a.ID), target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, s.path(a.ID)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, t.TempDir(), newClock())
			a, _ := mustRequest(t, s, defaultCall)
			mustDecide(t, s, a.ID, true)
			other, _ := mustRequest(t, s, call("assistant", "t", `{}`))
			tt.corrupt(t, s, a)

			list, err := s.List(ListFilter{})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("List() error = %v, want ErrCorrupt", err)
			}
			if diff := cmp.Diff([]string{other.ID}, ids(list)); diff != "" {
				t.Errorf("List() with a corrupt file mismatch (-want +got):\n%s", diff)
			}
			b, out := mustRequest(t, s, defaultCall)
			if out != Created || b.ID == a.ID {
				t.Errorf("Request() with the approval corrupt = %v %s, want %v with a new ID", out, b.ID, Created)
			}
		})
	}
}

func TestStore_Get_corrupt(t *testing.T) {
	s := newStore(t, t.TempDir(), newClock())
	a, _ := mustRequest(t, s, defaultCall)
	mustDecide(t, s, a.ID, true)
	writeApprovalFile(t, s, a.ID, []byte(`{"id":`))
	for name, fn := range map[string]func() error{
		"Get":     func() error { _, err := s.Get(a.ID); return err },
		"Decide":  func() error { _, err := s.Decide(a.ID, true, "cli:x", ""); return err },
		"Consume": func() error { _, err := s.Consume(a.ID, a.Hash); return err },
	} {
		if err := fn(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s(%s) on a corrupt file = %v, want ErrCorrupt", name, a.ID, err)
		}
	}
}

func editApproval(tb testing.TB, s *Store, id string, edit func(map[string]any)) {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(readApprovalFile(tb, s, id), &m); err != nil {
		tb.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	writeApprovalFile(tb, s, id, data)
}

func TestStore_prune(t *testing.T) {
	c := newClock()
	s := newStore(t, t.TempDir(), c)
	used, _ := mustRequest(t, s, call("a", "t", `{"n":1}`))
	mustDecide(t, s, used.ID, true)
	mustRequest(t, s, call("a", "t", `{"n":1}`))
	denied, _ := mustRequest(t, s, call("a", "t", `{"n":2}`))
	mustDecide(t, s, denied.ID, false)
	expired, _ := mustRequest(t, s, call("a", "t", `{"n":3}`))
	stale := filepath.Join(s.dir, tempPrefix+"123")
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}

	c.Advance(DefaultRetain)
	fresh, _ := mustRequest(t, s, call("a", "t", `{"n":4}`))
	// Finished a TTL after creation at the latest, so not yet old enough.
	for _, id := range []string{used.ID, denied.ID, expired.ID, fresh.ID} {
		mustGet(t, s, id)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file after Request: Stat = %v, want not exist", err)
	}

	c.Advance(DefaultTTL + time.Minute)
	kept, _ := mustRequest(t, s, call("a", "t", `{"n":5}`))
	for _, id := range []string{used.ID, denied.ID, expired.ID} {
		if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%s) after Retain = %v, want ErrNotFound", id, err)
		}
	}
	// fresh expired just now; it is kept for its own Retain period.
	for _, id := range []string{fresh.ID, kept.ID} {
		mustGet(t, s, id)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir, nil)
	a, _ := mustRequest(t, s, defaultCall)
	for path, want := range map[string]os.FileMode{
		s.dir:                         0o700 | os.ModeDir,
		s.path(a.ID):                  0o600,
		filepath.Join(s.dir, ".lock"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("mode of %s = %v, want %v", path, got, want)
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}

	tests := []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{name: "empty dir", setup: func(t *testing.T) string { return "" }},
		{name: "approvals writable by others", setup: func(t *testing.T) string {
			d := t.TempDir()
			mustMkdir(t, filepath.Join(d, "approvals"), 0o777)
			return d
		}},
		{name: "approvals is a file", setup: func(t *testing.T) string {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, "approvals"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{name: "approvals is a symlink", setup: func(t *testing.T) string {
			d := t.TempDir()
			if err := os.Symlink(t.TempDir(), filepath.Join(d, "approvals")); err != nil {
				t.Fatal(err)
			}
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.setup(t)
			if s, err := Open(d, Options{}); err == nil {
				t.Errorf("Open(%q) = %v, want error", d, s)
			}
		})
	}
}

func mustMkdir(tb testing.TB, dir string, perm os.FileMode) {
	tb.Helper()
	if err := os.Mkdir(dir, perm); err != nil {
		tb.Fatal(err)
	}
	// Mkdir applies the umask; the point is the final mode.
	if err := os.Chmod(dir, perm); err != nil {
		tb.Fatal(err)
	}
}

func TestOutcome_String(t *testing.T) {
	tests := []struct {
		o    Outcome
		want string
	}{
		{Pending, "pending"},
		{Created, "created"},
		{Refused, "refused"},
		{Proceed, "proceed"},
		{Outcome(9), "Outcome(9)"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(tt.o), got, tt.want)
		}
	}
}

// BenchmarkStore_Request measures the scan that bounds the store's size:
// with kept approvals pending (all read on every call) or used (read once
// by a long-lived Store, then skipped), and by a fresh Store per call as a
// one-shot "warden call" process would.
func BenchmarkStore_Request(b *testing.B) {
	for _, kept := range []int{100, 1000} {
		for _, finished := range []bool{false, true} {
			for _, fresh := range []bool{false, true} {
				name := fmt.Sprintf("kept=%d/finished=%v/fresh=%v", kept, finished, fresh)
				b.Run(name, func(b *testing.B) {
					dir := b.TempDir()
					s := newStore(b, dir, nil)
					for i := range kept {
						r := call("a", "t", fmt.Sprintf(`{"n":%d}`, i))
						a, _ := mustRequest(b, s, r)
						if finished {
							mustDecide(b, s, a.ID, true)
							mustRequest(b, s, r)
						}
					}
					mustRequest(b, s, defaultCall)
					for b.Loop() {
						if fresh {
							s = newStore(b, dir, nil)
						}
						mustRequest(b, s, defaultCall)
					}
				})
			}
		}
	}
}
