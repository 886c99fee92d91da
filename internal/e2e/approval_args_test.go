package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const writeApprovalPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  assistant:
    grants:
      - resource: notes
        actions: [write]
        paths: ["docs/**"]
        approval: required
`

// TestApproval_ElicitationShowsWholeContent: the question the human answers
// in the client quotes a long write content whole (it is stored as a blob),
// and for content beyond its bound says where every byte can be read.
func TestApproval_ElicitationShowsWholeContent(t *testing.T) {
	base, root := fixture(t)
	writePolicy(t, base, writeApprovalPolicy)
	var asked atomic.Int32
	var message atomic.Value
	cs := connectStdio(t, base, nil, elicitor("deny", &asked, &message))

	long := strings.Repeat("a line the human must read\n", 200) + "rm -rf / # LAST-LINE"
	res := callTool(t, cs, "notes_write", map[string]any{"path": "docs/long.md", "content": long})
	if !res.IsError {
		t.Fatalf("a denied write succeeded: %s", text(res))
	}
	msg, _ := message.Load().(string)
	if !strings.Contains(msg, "# LAST-LINE") || strings.Count(msg, "a line the human must read") != 200 {
		t.Errorf("the question does not quote the whole content (%d bytes): %.300q…", len(msg), msg)
	}
	if !strings.Contains(msg, "in full") {
		t.Errorf("the question does not say the arguments are whole: %.300q", msg)
	}

	huge := strings.Repeat("x", 100<<10) + "HUGE-END"
	callTool(t, cs, "notes_write", map[string]any{"path": "docs/huge.md", "content": huge})
	msg, _ = message.Load().(string)
	if len(msg) > 70<<10 || !strings.Contains(msg, "prints every byte") || !strings.Contains(msg, `"warden approvals show ap_`) {
		t.Errorf("the question about a 100 KiB write (%d bytes) does not point to warden approvals show: %.200q", len(msg), msg[max(0, len(msg)-300):])
	}
	if asked.Load() != 2 {
		t.Errorf("asked %d times, want 2", asked.Load())
	}
	for _, name := range []string{"long.md", "huge.md"} {
		if _, err := os.Stat(filepath.Join(root, "docs", name)); !os.IsNotExist(err) {
			t.Errorf("denied write of %s left a file: %v", name, err)
		}
	}
}
