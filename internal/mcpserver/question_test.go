package mcpserver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
)

// pendingApproval stores a pending approval of args, long values in blobs
// as the engine stores them.
func pendingApproval(t *testing.T, dir string, args map[string]string) (*approval.Store, *approval.Approval) {
	t.Helper()
	log, err := audit.Open(dir, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	raw, _ := json.Marshal(args)
	inline, blobs, err := log.SplitArgs(raw, func(k string) bool { return k == "path" })
	if err != nil {
		t.Fatal(err)
	}
	store, err := approval.Open(dir, approval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := store.Request(approval.NewRequest{Agent: "bot", Tool: "notes_write", Args: raw, Display: inline, Blobs: blobs, Summary: "notes_write"})
	if err != nil {
		t.Fatal(err)
	}
	return store, a
}

func TestApprovalQuestion_ShowsWhatRuns(t *testing.T) {
	dir := t.TempDir()
	// Right-to-left overrides would show "deploy" where the text says
	// otherwise; the question spells them out.
	content := strings.Repeat("harmless line\n", 100) + "run \u202edeploy\u202c now"
	store, a := pendingApproval(t, dir, map[string]string{"path": "a.sh", "content": content})
	q := approvalQuestion("bot", a, store)
	if strings.ContainsAny(q, "\u202e\u202c") || !strings.Contains(q, `run \u202edeploy\u202c now`) {
		t.Errorf("the question keeps the bidi controls or loses the content: %.200q", q[max(0, len(q)-200):])
	}
	if strings.Count(q, "harmless line") != 100 {
		t.Errorf("the question does not quote the whole content")
	}

	// A blob gone missing: the human is told, never shown less.
	if err := os.RemoveAll(filepath.Join(dir, audit.BlobDir)); err != nil {
		t.Fatal(err)
	}
	q = approvalQuestion("bot", a, store)
	if !strings.Contains(q, "cannot be shown") || !strings.Contains(q, "blob missing") || strings.Contains(q, "harmless line") {
		t.Errorf("question with a missing blob = %.300q", q)
	}
}
