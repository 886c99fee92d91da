package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRead_filter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	// Record i is at start + i minutes; agents alternate alice, bob and
	// decisions cycle allow, deny, approval_required.
	l := newLog(t, dir, Options{Now: fixedClock(start, time.Minute)})
	for i := range 12 {
		rec := callRecord(i)
		if i == 5 {
			rec.Tool = "fs_write"
		}
		mustAppend(t, l, rec)
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Minute) }

	tests := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"all", Filter{}, []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"agent", Filter{Agent: "bob"}, []uint64{2, 4, 6, 8, 10, 12}},
		{"tool", Filter{Tool: "fs_write"}, []uint64{6}},
		{"decision", Filter{Decision: "deny"}, []uint64{2, 5, 8, 11}},
		{"decision-is-exact", Filter{Decision: "den"}, nil},
		{"agent-and-decision", Filter{Agent: "alice", Decision: "allow"}, []uint64{1, 7}},
		{"since-inclusive", Filter{Since: at(9)}, []uint64{10, 11, 12}},
		{"until-exclusive", Filter{Until: at(2)}, []uint64{1, 2}},
		{"window", Filter{Since: at(3), Until: at(6)}, []uint64{4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []uint64
			err := Read(context.Background(), dir, tt.f, func(r Record) error {
				got = append(got, r.Seq)
				return nil
			})
			if err != nil {
				t.Fatalf("Read(%+v) error: %v", tt.f, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Read(%+v) seqs mismatch (-want +got):\n%s", tt.f, diff)
			}
		})
	}
}

func TestRead_stopsOnCallbackError(t *testing.T) {
	dir, _ := newFilledLog(t, 5, Options{})
	stop := errors.New("stop")
	n := 0
	err := Read(context.Background(), dir, Filter{}, func(Record) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 2 {
		t.Errorf("Read() = %v after %d records, want the callback's error after 2", err, n)
	}
}

func TestRead_skipsPartialLine(t *testing.T) {
	dir, _ := newFilledLog(t, 3, Options{})
	appendBytes(t, dir, `{"seq":4,"event":"ca`)
	if got := readAll(t, dir); len(got) != 3 {
		t.Errorf("Read() = %d records, want 3 (the partial one skipped)", len(got))
	}
}

func appendBytes(tb testing.TB, dir, s string) {
	tb.Helper()
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		tb.Fatal(err)
	}
}

// follow runs Read with Follow in the background and returns a channel of
// the records it delivers and one for its result.
func follow(tb testing.TB, ctx context.Context, dir string, f Filter) (<-chan Record, <-chan error) {
	tb.Helper()
	f.Follow = true
	f.PollInterval = 5 * time.Millisecond
	recs := make(chan Record, 100)
	done := make(chan error, 1)
	go func() {
		done <- Read(ctx, dir, f, func(r Record) error {
			recs <- r
			return nil
		})
	}()
	return recs, done
}

func receive(tb testing.TB, recs <-chan Record) Record {
	tb.Helper()
	select {
	case r := <-recs:
		return r
	case <-time.After(5 * time.Second):
		tb.Fatal("Read(Follow) delivered nothing in 5s")
		return Record{}
	}
}

func TestRead_follow(t *testing.T) {
	dir, _ := newFilledLog(t, 2, Options{})
	l := newLog(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recs, done := follow(t, ctx, dir, Filter{Agent: "alice"})

	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for i := 2; i < 8; i++ {
			time.Sleep(2 * time.Millisecond)
			if _, err := l.Append(context.Background(), callRecord(i)); err != nil {
				t.Error(err)
			}
		}
	}()
	var got []uint64
	for range 4 { // alice's: seqs 1, 3, 5, 7
		got = append(got, receive(t, recs).Seq)
	}
	if want := []uint64{1, 3, 5, 7}; !slices.Equal(got, want) {
		t.Errorf("Read(Follow, alice) = seqs %v, want %v", got, want)
	}
	<-appended
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Read(Follow) after cancel = %v, want context.Canceled", err)
	}
}

func TestRead_followWaitsForWholeLine(t *testing.T) {
	dir := t.TempDir()
	newLog(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recs, _ := follow(t, ctx, dir, Filter{})

	appendBytes(t, dir, `{"seq":1,"event":"ca`)
	time.Sleep(30 * time.Millisecond) // several polls see the partial line
	select {
	case r := <-recs:
		t.Fatalf("Read(Follow) delivered %+v from a partial line", r)
	default:
	}
	appendBytes(t, dir, `ll","prev":"`+zeroHash+`"}`+"\n")
	if r := receive(t, recs); r.Seq != 1 || r.Event != "call" {
		t.Errorf("Read(Follow) = seq %d event %q, want seq 1 event call", r.Seq, r.Event)
	}
}

func TestRead_followAcrossRecovery(t *testing.T) {
	dir, _ := newFilledLog(t, 3, Options{})
	l := newLog(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recs, _ := follow(t, ctx, dir, Filter{})
	for range 3 {
		receive(t, recs)
	}

	// A crash leaves a partial line the follower holds; the next Append
	// cuts it off and writes a whole record in its place.
	appendBytes(t, dir, `{"seq":4,"id":"ZZZ`) // unlike the real record's start
	time.Sleep(30 * time.Millisecond)
	want := mustAppend(t, l, &Record{Event: "after-crash"})
	if got := receive(t, recs); got.Seq != want.Seq || got.Event != "after-crash" {
		t.Errorf("Read(Follow) after recovery = seq %d event %q, want seq %d event after-crash", got.Seq, got.Event, want.Seq)
	}
}
