package fs_test

import (
	"strings"
	"testing"
)

// TestEscapes_SentinelNeverRead tries to reach <T>/sentinel.txt (and
// other content outside the root) every way we know; every read, stat and
// list must fail, and no result may carry an outside marker. Search, which
// must not follow links, runs over the whole root and must not find them.
func TestEscapes_SentinelNeverRead(t *testing.T) {
	tmp, root := newFixture(t,
		"notes.txt",
		"sub/inner.txt",
		"link1 => ../sentinel.txt",
		"link2 => $T/sentinel.txt",
		"c1 => c2", "c2 => c3", "c3 => ../sentinel.txt",
		"out => ..",
		"outabs => $T",
		"sub/up => ../..",
		"sub/upabs => $T/",
		"here => .",
		"rootlink => ../root",
		"deep/a/b/c => ../../../../sentinel.txt",
	)
	// The layout above is built before $T is substituted; redo the
	// absolute links with the real path.
	for _, l := range []string{"link2", "outabs", "sub/upabs"} {
		mustRemove(t, root, l)
	}
	mustBuild(t, root, "link2 => "+tmp+"/sentinel.txt", "outabs => "+tmp, "sub/upabs => "+tmp+"/")
	mustBuild(t, tmp, "other/secret.txt = WARDEN-OUTSIDE-OTHER", "root2/secret.txt = WARDEN-SIBLING")
	c := newConnector(t, root)

	payloads := []string{
		"../sentinel.txt",
		"..\\sentinel.txt",
		"..\\/sentinel.txt",
		"./../sentinel.txt",
		"sub/../../sentinel.txt",
		"link1",
		"link2",
		"c1",
		"out/sentinel.txt",
		"out/other/secret.txt",
		"outabs/sentinel.txt",
		"sub/up/sentinel.txt",
		"sub/upabs/sentinel.txt",
		"here/../sentinel.txt",
		"rootlink/notes.txt",
		"deep/a/b/c",
		"out",
		"outabs",
		"sub/up",
		"../root2/secret.txt",
		"../root/../sentinel.txt",
		tmp + "/sentinel.txt",
		"%2e%2e%2fsentinel.txt",
		"..%2fsentinel.txt",
		"file://" + tmp + "/sentinel.txt",
		"\\\\localhost\\c$\\sentinel.txt",
		"..././sentinel.txt",
		"....//sentinel.txt",
	}
	for _, p := range payloads {
		for _, op := range []string{"read", "stat", "list"} {
			got := do(t, c, op, pathArgs(t, p), allVisible)
			if got.Err == nil {
				t.Errorf("%s(%q) = %v, want a failure", op, p, got)
			}
			assertNoOutsideMarker(t, op, p, got)
		}
	}
	for _, a := range []map[string]any{
		{"path": ".", "text": "WARDEN"},
		{"path": ".", "name": "*"},
		{"path": ".", "name": "*.txt", "text": "SENTINEL", "ignore_case": true},
	} {
		got := do(t, c, "search", args(t, a), allVisible)
		if got.Err != nil {
			t.Errorf("search(%v) = %v, want success", a, got)
		}
		assertNoOutsideMarker(t, "search", a["path"].(string), got)
		if strings.Contains(got.JSON, "sentinel.txt") {
			t.Errorf("search(%v) = %v, mentions the outside file", a, got)
		}
	}
	got := do(t, c, "list", args(t, map[string]any{"path": ".", "recursive": true}), allVisible)
	if got.Err != nil {
		t.Fatalf("list(. recursive) = %v", got)
	}
	if strings.Contains(got.JSON, "sentinel.txt") || strings.Contains(got.JSON, "secret.txt") {
		t.Errorf("list(. recursive) = %v, followed a link out of the root", got)
	}
}

// assertNoOutsideMarker fails if the outcome carries any marker other
// than the one for content inside the root.
func assertNoOutsideMarker(tb testing.TB, op, p string, got outcome) {
	tb.Helper()
	text := got.JSON
	if got.Err != nil {
		text = got.Err.Error()
	}
	if strings.Contains(strings.ReplaceAll(text, "WARDEN-INSIDE", ""), "WARDEN-") {
		tb.Errorf("%s(%q) = %v, carries an outside marker", op, p, got)
	}
}
