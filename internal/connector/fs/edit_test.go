package fs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

func editArgs(tb testing.TB, p string, dryRun bool, pairs ...string) json.RawMessage {
	var edits []map[string]string
	for i := 0; i+1 < len(pairs); i += 2 {
		edits = append(edits, map[string]string{"old": pairs[i], "new": pairs[i+1]})
	}
	return args(tb, map[string]any{"path": p, "edits": edits, "dry_run": dryRun})
}

func TestEdit(t *testing.T) {
	const text = "alpha\nbeta\ngamma\n"
	tests := []struct {
		name  string
		pairs []string
		want  string
		diff  []string // lines the diff must hold
	}{
		{"one", []string{"beta", "BETA"}, "alpha\nBETA\ngamma\n", []string{"-beta", "+BETA", "--- f.txt", "+++ f.txt"}},
		{"in order, each on the result of the one before", []string{"alpha", "x", "x\nbeta", "y"}, "y\ngamma\n", []string{"-alpha", "-beta", "+y"}},
		{"delete text", []string{"gamma\n", ""}, "alpha\nbeta\n", []string{"-gamma"}},
		{"unicode", []string{"beta", "βήτα"}, "alpha\nβήτα\ngamma\n", []string{"+βήτα"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t, "f.txt = "+text)
			os.Chmod(filepath.Join(root, "f.txt"), 0o640)
			c := newConnector(t, root)
			j := newMemJournal(t)
			got := doWith(t, c, "edit", editArgs(t, "f.txt", false, tt.pairs...), with{scope: allVisible, journal: j})
			if got.Err != nil {
				t.Fatalf("edit(%q) = %v", tt.pairs, got)
			}
			if s := mustContent(t, filepath.Join(root, "f.txt")); s != tt.want {
				t.Errorf("after edit(%q), content = %q, want %q", tt.pairs, s, tt.want)
			}
			if fi, _ := os.Stat(filepath.Join(root, "f.txt")); fi.Mode().Perm() != 0o640 {
				t.Errorf("mode after edit = %v, want 0640", fi.Mode().Perm())
			}
			var res struct {
				Diff    string
				Applied bool
			}
			json.Unmarshal([]byte(got.JSON), &res)
			if !res.Applied {
				t.Errorf("edit result applied = false")
			}
			for _, l := range tt.diff {
				if !strings.Contains(res.Diff, l+"\n") {
					t.Errorf("diff lacks %q:\n%s", l, res.Diff)
				}
			}
			if ch := j.Changes(); len(ch) != 1 || ch[0].Op != "replace" || ch[0].Before.SHA256 != hashOf([]byte(text)) {
				t.Errorf("journal = %+v, want one replace of the old text", ch)
			}
			assertNoTemps(t, root)
		})
	}
}

func TestEdit_Refusals(t *testing.T) {
	tests := []struct {
		name    string
		content string
		pairs   []string
		kind    core.Kind
		reason  core.Reason
		msg     string
	}{
		{"no match", "abc", []string{"xyz", "1"}, core.KindInvalid, core.ReasonNoMatch, "edits[0].old does not occur"},
		{"two matches", "ab ab", []string{"ab", "x"}, core.KindInvalid, core.ReasonNoMatch, "edits[0].old occurs 2 times"},
		{"overlapping matches", "aaa", []string{"aa", "x"}, core.KindInvalid, core.ReasonNoMatch, "occurs 2 times"},
		{"second edit fails after the first", "one two", []string{"one", "two", "two", "three"}, core.KindInvalid, core.ReasonNoMatch, "edits[1].old occurs 2 times"},
		{"old text removed by an earlier edit", "one two", []string{"one two", "x", "one", "y"}, core.KindInvalid, core.ReasonNoMatch, "edits[1].old does not occur"},
		{"binary", "a\x00b", []string{"a", "b"}, core.KindInvalid, core.ReasonToolFailed, "not UTF-8 text"},
		{"invalid UTF-8", "a\xffb", []string{"a", "b"}, core.KindInvalid, core.ReasonToolFailed, "not UTF-8 text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t)
			p := filepath.Join(root, "f.txt")
			if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			c := newConnector(t, root)
			j := newMemJournal(t)
			for _, dry := range []bool{true, false} {
				got := doWith(t, c, "edit", editArgs(t, "f.txt", dry, tt.pairs...), with{scope: allVisible, journal: j})
				failsWith(t, "edit", got, tt.kind, tt.reason)
				if !strings.Contains(core.MessageOf(got.Err), tt.msg) {
					t.Errorf("edit message = %q, want it to say %q", core.MessageOf(got.Err), tt.msg)
				}
			}
			if s := mustContent(t, p); s != tt.content {
				t.Errorf("content after a refused edit = %q", s)
			}
			if ch := j.Changes(); len(ch) != 0 {
				t.Errorf("journal after a refused edit = %+v", ch)
			}
		})
	}
}

func TestEdit_DryRun(t *testing.T) {
	_, root := newFixture(t, "f.txt = one\ntwo\n")
	p := filepath.Join(root, "f.txt")
	before, _ := os.Stat(p)
	sum := hashOf([]byte(mustContent(t, p)))
	c := newConnector(t, root)
	j := newMemJournal(t)
	got := doWith(t, c, "edit", editArgs(t, "f.txt", true, "two", "TWO"), with{scope: allVisible, journal: j})
	if got.Err != nil {
		t.Fatalf("dry run = %v", got)
	}
	var res struct {
		Diff    string
		Applied bool
	}
	json.Unmarshal([]byte(got.JSON), &res)
	if res.Applied || !strings.Contains(res.Diff, "+TWO\n") {
		t.Errorf("dry run result = %+v, want applied false and a diff", res)
	}
	after, _ := os.Stat(p)
	if h := hashOf([]byte(mustContent(t, p))); h != sum || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a dry run changed the file")
	}
	if ch := j.Changes(); len(ch) != 0 {
		t.Errorf("a dry run recorded %+v", ch)
	}
}

func TestEdit_Limits(t *testing.T) {
	_, root := newFixture(t, "big = "+strings.Repeat("a", 20)+"tail", "small = tail")
	c := newConnector(t, root, func(s *setup) { s.Limits.MaxWriteBytes = 16 })
	got := do(t, c, "edit", editArgs(t, "big", false, "tail", "x"), allVisible)
	failsWith(t, "edit of a file above the limit", got, core.KindTooLarge, core.ReasonTooLarge)
	got = do(t, c, "edit", editArgs(t, "small", false, "tail", strings.Repeat("b", 17)), allVisible)
	failsWith(t, "edit growing the file above the limit", got, core.KindTooLarge, core.ReasonTooLarge)
	if s := mustContent(t, filepath.Join(root, "small")); s != "tail" {
		t.Errorf("small = %q after a refused edit", s)
	}
}

func TestEdit_Arguments(t *testing.T) {
	_, root := newFixture(t, "f.txt = x")
	c := newConnector(t, root)
	many := make([]map[string]string, 101)
	for i := range many {
		many[i] = map[string]string{"old": "x", "new": "y"}
	}
	for _, a := range []string{
		`{"path":"f.txt","edits":[]}`,
		`{"path":"f.txt"}`,
		`{"path":"f.txt","edits":[{"old":"","new":"y"}]}`,
		`{"path":"f.txt","edits":[{"old":"x"}]}`,
		`{"path":"f.txt","edits":[{"old":"x","new":"y","extra":1}]}`,
		`{"path":"f.txt","edits":[{"OLD":"x","new":"y"}]}`,
		`{"path":"f.txt","edits":[{"old":"x","new":"y","new":"z"}]}`,
		`{"path":"f.txt","edits":[{"old":1,"new":"y"}]}`,
		`{"path":"f.txt","edits":{"old":"x","new":"y"}}`,
		string(mustJSON(t, map[string]any{"path": "f.txt", "edits": many})),
	} {
		inv := &core.Invocation{Op: "edit", Args: json.RawMessage(a)}
		if err := c.Prepare(t.Context(), inv); err == nil || core.KindOf(err) != core.KindInvalid {
			t.Errorf("Prepare(edit %.80s) = %v, want invalid arguments", a, err)
		}
	}
}
