package fs_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

type searchValue struct {
	Path    string `json:"path"`
	Matches []struct {
		Path string `json:"path"`
		Line int    `json:"line"`
		Text string `json:"text"`
	} `json:"matches"`
	FilesScanned int    `json:"files_scanned"`
	Truncated    bool   `json:"truncated"`
	Stopped      string `json:"stopped"`
}

// hits renders the matches as "path" or "path:line".
func (v searchValue) hits() []string {
	out := []string{}
	for _, m := range v.Matches {
		if m.Line == 0 {
			out = append(out, m.Path)
		} else {
			out = append(out, m.Path+":"+itoa(m.Line))
		}
	}
	return out
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func mustSearch(tb testing.TB, c core.Connector, a map[string]any, scope core.Scope) searchValue {
	tb.Helper()
	got := do(tb, c, "search", args(tb, a), scope)
	if got.Err != nil {
		tb.Fatalf("search(%v) = %v", a, got)
	}
	var v searchValue
	if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
		tb.Fatal(err)
	}
	if v.Truncated != (v.Stopped != "") || got.Result.Truncated != v.Truncated {
		tb.Errorf("search(%v): truncated %v but stopped %q", a, v.Truncated, v.Stopped)
	}
	return v
}

func newSearchFixture(t *testing.T, edit ...func(*setup)) core.Connector {
	t.Helper()
	_, root := newFixture(t,
		"docs/a.md = Hello World\nsecond line hello\n",
		"docs/b.txt = nothing to see\n",
		"docs/sub/c.md = HELLO again\n",
		"docs/bin.dat = hello\x00binary",
		"docs/big.txt = "+strings.Repeat("hello\n", 400),
		"private/p.md = hello private\n",
		"docs/link.md => a.md",
		"docs/linkdir => ../private",
		"Ünïcödé.md = ÉCOLE élève\n",
	)
	if err := syscall.Mkfifo(filepath.Join(root, "docs/fifo.md"), 0o644); err != nil {
		t.Fatal(err)
	}
	edit = append([]func(*setup){func(s *setup) { s.Limits.MaxFileBytes = 1024 }}, edit...)
	return newConnector(t, root, edit...)
}

func TestSearch(t *testing.T) {
	c := newSearchFixture(t)
	tests := []struct {
		name    string
		a       map[string]any
		want    []string
		stopped string
	}{
		{"name", map[string]any{"path": ".", "name": "*.md"}, []string{"docs/a.md", "docs/sub/c.md", "Ünïcödé.md"}, ""},
		{"name in subdirectory", map[string]any{"path": "docs/sub", "name": "*.md"}, []string{"docs/sub/c.md"}, ""},
		{"name ignore case", map[string]any{"path": ".", "name": "ÜNÏ*", "ignore_case": true}, []string{"Ünïcödé.md"}, ""},
		{"name case-sensitive", map[string]any{"path": ".", "name": "ÜNÏ*"}, []string{}, ""},
		{"text", map[string]any{"path": "docs", "text": "hello"}, []string{"docs/a.md:2"}, ""},
		{"text ignore case", map[string]any{"path": ".", "text": "hello", "ignore_case": true}, []string{"docs/a.md:1", "docs/a.md:2", "docs/sub/c.md:1"}, ""},
		{"text unicode ignore case", map[string]any{"path": ".", "text": "école", "ignore_case": true}, []string{"Ünïcödé.md:1"}, ""},
		{"name and text", map[string]any{"path": ".", "name": "c.*", "text": "hello", "ignore_case": true}, []string{"docs/sub/c.md:1"}, ""},
		{"through a link", map[string]any{"path": "docs/linkdir", "text": "hello"}, nil, ""}, // resolves to private/: the policy denies
		{"max_results", map[string]any{"path": ".", "text": "hello", "ignore_case": true, "max_results": 2}, []string{"docs/a.md:1", "docs/a.md:2"}, "max_results"},
		{"max_results exact", map[string]any{"path": ".", "text": "hello", "ignore_case": true, "max_results": 3}, []string{"docs/a.md:1", "docs/a.md:2", "docs/sub/c.md:1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				got := do(t, c, "search", args(t, tt.a), policy)
				if got.Stage != "Policy" {
					t.Errorf("search(%v) = %v, want a policy denial", tt.a, got)
				}
				return
			}
			v := mustSearch(t, c, tt.a, policy)
			if diff := cmp.Diff(tt.want, v.hits()); diff != "" {
				t.Errorf("search(%v) mismatch (-want +got):\n%s", tt.a, diff)
			}
			if v.Stopped != tt.stopped {
				t.Errorf("search(%v) stopped = %q, want %q", tt.a, v.Stopped, tt.stopped)
			}
		})
	}
	t.Run("line text", func(t *testing.T) {
		v := mustSearch(t, c, map[string]any{"path": "docs", "text": "second"}, policy)
		if len(v.Matches) != 1 || v.Matches[0].Text != "second line hello" {
			t.Errorf("search(second) = %+v, want the line without its newline", v.Matches)
		}
	})
	t.Run("files scanned", func(t *testing.T) {
		// docs: a.md, b.txt, bin.dat, big.txt, sub/c.md are regular; the
		// links and the FIFO are skipped.
		v := mustSearch(t, c, map[string]any{"path": "docs", "name": "*"}, policy)
		if v.FilesScanned != 5 {
			t.Errorf("search(docs, *) files_scanned = %d, want 5 (%v)", v.FilesScanned, v.hits())
		}
	})
}

func TestSearch_Limits(t *testing.T) {
	tests := []struct {
		name    string
		limits  fs.Limits
		a       map[string]any
		stopped string
	}{
		{"max_files", fs.Limits{MaxSearchFiles: 2}, map[string]any{"path": ".", "name": "*"}, "max_files"},
		{"max_bytes", fs.Limits{MaxSearchBytes: 10}, map[string]any{"path": ".", "text": "zzz"}, "max_bytes"},
		{"timeout", fs.Limits{SearchTimeout: time.Nanosecond}, map[string]any{"path": ".", "text": "zzz"}, "timeout"},
		{"max_results limit", fs.Limits{MaxSearchResults: 1}, map[string]any{"path": ".", "name": "*.md"}, "max_results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newSearchFixture(t, func(s *setup) {
				l := tt.limits
				l.MaxFileBytes = 1024
				s.Limits = l
			})
			v := mustSearch(t, c, tt.a, policy)
			if v.Stopped != tt.stopped || !v.Truncated {
				t.Errorf("search(%v) with limits %+v: stopped %q truncated %v, want %q", tt.a, tt.limits, v.Stopped, v.Truncated, tt.stopped)
			}
		})
	}
}

func TestSearch_SkipsBigAndBinary(t *testing.T) {
	c := newSearchFixture(t)
	v := mustSearch(t, c, map[string]any{"path": "docs", "text": "hello"}, policy)
	for _, h := range v.hits() {
		if strings.HasPrefix(h, "docs/big.txt") || strings.HasPrefix(h, "docs/bin.dat") {
			t.Errorf("search(hello) found %s; files over MaxFileBytes and binary files must be skipped", h)
		}
	}
}

func TestSearch_LongLines(t *testing.T) {
	line := strings.Repeat("x", 100<<10) + "NEEDLE" + strings.Repeat("y", 100<<10)
	_, root := newFixture(t, "long.txt = "+line+"\nsecond NEEDLE\n")
	c := newConnector(t, root)
	v := mustSearch(t, c, map[string]any{"path": ".", "text": "NEEDLE"}, allVisible)
	if diff := cmp.Diff([]string{"long.txt:1", "long.txt:2"}, v.hits()); diff != "" {
		t.Fatalf("search(NEEDLE) mismatch (-want +got):\n%s", diff)
	}
	if m := v.Matches[0]; len(m.Text) > 240 || !strings.Contains(m.Text, "NEEDLE") {
		t.Errorf("search(NEEDLE) excerpt is %d bytes %q, want at most 240 containing the match", len(m.Text), m.Text)
	}
}

func TestSearch_Errors(t *testing.T) {
	c := newSearchFixture(t)
	tests := []struct {
		name   string
		a      map[string]any
		reason core.Reason
	}{
		{"file", map[string]any{"path": "docs/a.md", "name": "*"}, core.ReasonNotDirectory},
		{"missing", map[string]any{"path": "nope", "name": "*"}, core.ReasonNotFound},
		{"no criteria", map[string]any{"path": "."}, core.ReasonInvalidArguments},
		{"bad glob", map[string]any{"path": ".", "name": "[a-"}, core.ReasonInvalidArguments},
		{"multi-line text", map[string]any{"path": ".", "text": "a\nb"}, core.ReasonInvalidArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, c, "search", args(t, tt.a), policy)
			if got.Err == nil || core.ReasonOf(got.Err) != tt.reason {
				t.Errorf("search(%v) = %v, want reason %s", tt.a, got, tt.reason)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		got := doCtx(t, ctx, c, "search", args(t, map[string]any{"path": ".", "name": "*"}), policy)
		if got.Err == nil {
			t.Errorf("search with a cancelled context = %v, want an error", got)
		}
	})
}
