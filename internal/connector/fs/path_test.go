package fs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// TestPrepare_RawPath covers the validation that happens before the file
// system is touched: every row must fail Prepare with KindInvalid and the
// given reason, or (reason "") pass it.
func TestPrepare_RawPath(t *testing.T) {
	const (
		invalid = core.ReasonInvalidPath
		escapes = core.ReasonPathEscapes
		ok      = core.Reason("")
	)
	tests := []struct {
		name string
		path string
		want core.Reason
	}{
		{"empty", "", invalid},
		{"NUL", "notes.txt\x00", invalid},
		{"NUL first", "\x00/etc/passwd", invalid},
		{"too long", strings.Repeat("a/", 2048) + "b", invalid},
		{"longest", strings.Repeat("a", 4096), ok},
		{"absolute", "/etc/passwd", invalid},
		{"slash", "/", invalid},
		{"absolute dotdot", "/a/../..", invalid},
		{"leading backslash", "\\a", invalid},
		{"backslash only", "\\", invalid},
		{"UNC", "\\\\server\\share\\x", invalid},
		{"drive", "C:", invalid},
		{"drive backslash", "C:\\a", invalid},
		{"drive slash", "c:/windows/win.ini", invalid},
		{"drive relative", "c:foo", invalid},
		{"drive after cleaning", "a/../c:", invalid},
		{"NUL device", "NUL", invalid},
		{"nul device", "nul", invalid},
		{"nul space", "nul ", invalid},
		{"nul dot", "nul.", invalid},
		{"nul extension", "nul.txt", invalid},
		{"nul colon", "a/nul:", invalid},
		{"nul colon suffix", "a/nul : a", invalid},
		{"com1", "com1", invalid},
		{"cOm1", "cOm1", invalid},
		{"com superscript 1", "com¹", invalid},
		{"com superscript 2", "com²", invalid},
		{"com superscript 3", "com³", invalid},
		{"com superscript colon", "com¹ : a", invalid},
		{"lpt1", "lpt1", invalid},
		{"LPT1", "LPT1", invalid},
		{"lpt superscript 3", "lpt³", invalid},
		{"dot nul", "./nul", invalid},
		{"deep con", "a/b/con.tar.gz", invalid},
		{"CONIN$", "CONIN$", invalid},
		{"conin$", "conin$", invalid},
		{"CONOUT$", "CONOUT$", invalid},
		{"conout$", "conout$", invalid},
		{"aux in backslash path", "a\\aux", invalid},
		{"dotdot", "..", escapes},
		{"dotdot slash", "../", escapes},
		{"dotdot file", "../sentinel.txt", escapes},
		{"dotdot backslash", "..\\sentinel.txt", escapes},
		{"dotdot mixed", "..\\/sentinel.txt", escapes},
		{"dotdot after name", "a/../../x", escapes},
		{"dotdot backslash deep", "a\\..\\..\\x", escapes},
		{"back into root", "../root/target", escapes},
		{"dotdot later", "a/b/../../../x", escapes},
		{"com0", "com0", ok},
		{"com10", "com10", ok},
		{"lpt0", "lpt0", ok},
		{"console", "console", ok},
		{"auxiliary", "auxiliary.txt", ok},
		{"nul prefix", "nul_file", ok},
		{"dollar", "dollar$", ok},
		{"backslash inside", "back\\slash.txt", ok},
		{"percent dotdot", "%2e%2e", ok},
		{"percent traversal", "%2e%2e%2fsentinel.txt", ok},
		{"three dots", "...", ok},
		{"three dots dir", ".../file.txt", ok},
		{"dots inside", "a..b.txt", ok},
		{"colon later", "x/a:b", ok},
		{"dotdot inside", "a/../b", ok},
		{"dot", ".", ok},
		{"dot slash", "./", ok},
		{"unicode", "日本語/報告書.txt", ok},
		{"leading space", " leading-space.txt", ok},
		{"option-like", "-rf", ok},
		{"fullwidth dots", "\uff0e\uff0e/sentinel.txt", ok},
	}
	_, root := newFixture(t)
	c := newConnector(t, root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := &core.Invocation{Op: "stat", Args: pathArgs(t, tt.path)}
			err := c.Prepare(context.Background(), inv)
			if cl, ok := inv.State.(interface{ Close() error }); ok {
				cl.Close()
			}
			if tt.want == ok {
				if err != nil {
					t.Errorf("Prepare(stat %q) error: %v, want success", tt.path, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Prepare(stat %q) succeeded with Path %q, want %s", tt.path, inv.Path, tt.want)
			}
			if k, r := core.KindOf(err), core.ReasonOf(err); k != core.KindInvalid || r != tt.want {
				t.Errorf("Prepare(stat %q) error kind/reason = %v/%s, want %v/%s (%v)", tt.path, k, r, core.KindInvalid, tt.want, err)
			}
			if msg := core.MessageOf(err); strings.Contains(msg, root) {
				t.Errorf("Prepare(stat %q) message %q names the host root", tt.path, msg)
			}
		})
	}
}
