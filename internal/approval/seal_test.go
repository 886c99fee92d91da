package approval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("k-0123456789abcdef0123456789abcdef")

// newKeyedStore opens a store sealed with key, recording decisions with
// record (nil: none).
func newKeyedStore(tb testing.TB, dir string, c *clock, key []byte, record func(*Approval) (string, error)) *Store {
	tb.Helper()
	s, err := Open(dir, Options{Poll: 5 * time.Millisecond, Now: c.Now, Key: key, Record: record})
	if err != nil {
		tb.Fatalf("Open(%q) error: %v", dir, err)
	}
	return s
}

// forgeApproved writes, without the key, an approved approval of r as
// someone who can write the state directory would.
func forgeApproved(tb testing.TB, s *Store, c *clock, id string, r NewRequest) {
	tb.Helper()
	canon, err := CanonicalArgs(r.Args)
	if err != nil {
		tb.Fatal(err)
	}
	now := c.Now()
	a := Approval{
		ID: id, Agent: r.Agent, Tool: r.Tool, Args: r.Args, Hash: CallHash(r.Agent, r.Tool, canon),
		Status: StatusApproved, Created: now, Expires: now.Add(time.Hour),
		DecidedBy: "cli:alice", DecidedAt: now, DecisionAuditID: "01JAAAAAAAAAAAAAAAAAAAAAAA",
	}
	data, err := json.Marshal(a)
	if err != nil {
		tb.Fatal(err)
	}
	writeApprovalFile(tb, s, id, append(data, '\n'))
}

func TestStore_keyed_forgedApprovalRefused(t *testing.T) {
	tests := []struct {
		name string
		// forge leaves a file that claims defaultCall is approved; it
		// returns the file's ID.
		forge func(t *testing.T, s *Store, c *clock) string
	}{
		{name: "hand-written", forge: func(t *testing.T, s *Store, c *clock) string {
			forgeApproved(t, s, c, "ap_forgedforged", defaultCall)
			return "ap_forgedforged"
		}},
		{name: "pending edited to approved", forge: func(t *testing.T, s *Store, c *clock) string {
			a, _ := mustRequest(t, s, defaultCall)
			editApproval(t, s, a.ID, func(m map[string]any) {
				m["status"] = "approved"
				m["decided_by"] = "cli:alice"
			})
			return a.ID
		}},
		{name: "used edited back to approved", forge: func(t *testing.T, s *Store, c *clock) string {
			a, _ := mustRequest(t, s, defaultCall)
			mustDecide(t, s, a.ID, true)
			if _, out := mustRequest(t, s, defaultCall); out != Proceed {
				t.Fatalf("Request() after approval = %v, want %v", out, Proceed)
			}
			data := readApprovalFile(t, s, a.ID)
			writeApprovalFile(t, s, a.ID, bytes.Replace(data, []byte(`"status":"used"`), []byte(`"status":"approved"`), 1))
			return a.ID
		}},
		{name: "sealed with another key", forge: func(t *testing.T, s *Store, c *clock) string {
			other := newKeyedStore(t, s.dir[:len(s.dir)-len("/approvals")], c, []byte("k-other"), nil)
			a, _ := mustRequest(t, other, defaultCall)
			mustDecide(t, other, a.ID, true)
			return a.ID
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			s := newKeyedStore(t, t.TempDir(), c, testKey, nil)
			id := tt.forge(t, s, c)
			before := readApprovalFile(t, s, id)

			a, out, err := s.Request(defaultCall)
			if !errors.Is(err, ErrForged) || out == Proceed || a != nil {
				t.Fatalf("Request() with a forged approval = %v, %v, %v; want ErrForged and no approval", a, out, err)
			}
			if !strings.Contains(err.Error(), id) {
				t.Errorf("Request() error %q does not name the file %s", err, id)
			}
			// A fresh store (another process) refuses it too, and so does
			// a call that waited for it.
			s2 := newKeyedStore(t, s.dir[:len(s.dir)-len("/approvals")], c, testKey, nil)
			if _, out, err := s2.Request(defaultCall); !errors.Is(err, ErrForged) || out == Proceed {
				t.Errorf("Request() in a new store = %v, %v; want ErrForged", out, err)
			}
			canon, _ := CanonicalArgs(defaultCall.Args)
			if _, err := s.Consume(id, CallHash(defaultCall.Agent, defaultCall.Tool, canon)); !errors.Is(err, ErrForged) {
				t.Errorf("Consume(%s) = %v, want ErrForged", id, err)
			}
			if _, err := s.Decide(id, true, "cli:x", ""); !errors.Is(err, ErrForged) {
				t.Errorf("Decide(%s) = %v, want ErrForged", id, err)
			}
			if _, err := s.List(ListFilter{}); !errors.Is(err, ErrCorrupt) {
				t.Errorf("List() = %v, want the forged file reported as corrupt", err)
			}
			if after := readApprovalFile(t, s, id); !bytes.Equal(after, before) {
				t.Errorf("the forged file changed:\n%s\nto\n%s", before, after)
			}
			// Another call is not held up by it.
			if _, out := mustRequest(t, s, call("assistant", "fs_write", `{"path":"other.md"}`)); out != Created {
				t.Errorf("Request(another call) = %v, want %v", out, Created)
			}
		})
	}
}

func TestStore_keyed_roundTrip(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	s := newKeyedStore(t, dir, c, testKey, nil)
	a, _ := mustRequest(t, s, defaultCall)
	if data := readApprovalFile(t, s, a.ID); !bytes.Contains(data, []byte(`,"mac":"`)) {
		t.Fatalf("keyed approval file has no MAC: %s", data)
	}
	mustDecide(t, s, a.ID, true)
	// Another process with the key acts on it.
	s2 := newKeyedStore(t, dir, c, testKey, nil)
	if got, out := mustRequest(t, s2, defaultCall); out != Proceed || got.ID != a.ID {
		t.Fatalf("Request() = %v %s, want %v %s", out, got.ID, Proceed, a.ID)
	}
	// A store without the key still reads sealed files.
	plain := newStore(t, dir, c)
	if got := mustGet(t, plain, a.ID); got.Status != StatusUsed {
		t.Errorf("unkeyed Get(%s).Status = %s, want %s", a.ID, got.Status, StatusUsed)
	}
}

func TestStore_Decide_recordedBeforeItTakesEffect(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	var recorded []string
	var s *Store
	s = newKeyedStore(t, dir, c, testKey, func(a *Approval) (string, error) {
		// The decision is not yet on disk while it is being recorded.
		if onDisk := readApprovalFile(t, s, a.ID); !bytes.Contains(onDisk, []byte(`"status":"pending"`)) {
			t.Errorf("Record(%s) called after the decision was saved: %s", a.ID, onDisk)
		}
		recorded = append(recorded, fmt.Sprintf("%s %s %s", a.ID, a.Status, a.DecidedBy))
		return "01JBBBBBBBBBBBBBBBBBBBBBBB", nil
	})
	a, _ := mustRequest(t, s, defaultCall)
	got := mustDecide(t, s, a.ID, true)
	if len(recorded) != 1 || recorded[0] != a.ID+" approved cli:tester" || got.DecisionAuditID != "01JBBBBBBBBBBBBBBBBBBBBBBB" {
		t.Fatalf("recorded %q, DecisionAuditID %q; want one approval record and its ID kept", recorded, got.DecisionAuditID)
	}
	if _, out := mustRequest(t, s, defaultCall); out != Proceed {
		t.Errorf("Request() after a recorded approval = %v, want %v", out, Proceed)
	}
}

func TestStore_Decide_unrecordedDecisionNotMade(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(fmt.Sprint("approve=", approve), func(t *testing.T) {
			c := newClock()
			auditDown := errors.New("audit log: disk full")
			s := newKeyedStore(t, t.TempDir(), c, testKey, func(*Approval) (string, error) { return "", auditDown })
			a, _ := mustRequest(t, s, defaultCall)
			if _, err := s.Decide(a.ID, approve, "cli:tester", ""); !errors.Is(err, auditDown) {
				t.Fatalf("Decide() with the audit log down = %v, want its error", err)
			}
			if got := mustGet(t, s, a.ID); got.Status != StatusPending || got.DecidedBy != "" {
				t.Errorf("after an unrecorded decision the approval is %s by %q, want still pending", got.Status, got.DecidedBy)
			}
			// The call still waits: it neither runs nor is refused.
			if _, out := mustRequest(t, s, defaultCall); out != Pending {
				t.Errorf("Request() after an unrecorded decision = %v, want %v", out, Pending)
			}
		})
	}
}

// TestStore_keyed_unsealedFinishedFiles: files from before the store was
// keyed (or forged) that could not make a call run neither block an
// identical call nor stay forever.
func TestStore_keyed_unsealedFinishedFiles(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	plain := newStore(t, dir, c)
	used, _ := mustRequest(t, plain, defaultCall)
	mustDecide(t, plain, used.ID, true)
	if _, out := mustRequest(t, plain, defaultCall); out != Proceed {
		t.Fatalf("Request() = %v, want %v", out, Proceed)
	}
	pending, _ := mustRequest(t, plain, call("assistant", "fs_write", `{"path":"p.md"}`))

	s := newKeyedStore(t, dir, c, testKey, nil)
	if a, out := mustRequest(t, s, defaultCall); out != Created || a.ID == used.ID {
		t.Errorf("Request() next to an unsealed used approval = %v %s, want a new %v", out, a.ID, Created)
	}
	if a, out := mustRequest(t, s, call("assistant", "fs_write", `{"path":"p.md"}`)); out != Created || a.ID == pending.ID {
		t.Errorf("Request() next to an unsealed pending approval = %v %s, want a new %v", out, a.ID, Created)
	}
	c.Advance(DefaultRetain + time.Hour)
	mustRequest(t, s, call("assistant", "t", `{}`))
	for _, id := range []string{used.ID, pending.ID} {
		if _, err := os.Lstat(s.path(id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unsealed finished approval %s not pruned after Retain: %v", id, err)
		}
	}
}
