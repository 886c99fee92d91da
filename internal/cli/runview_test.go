package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

// TestAgentView_narrowsToGrantedPaths: warden run shows a resource's root
// only where a grant covers all of it; a grant with paths shows the
// directories its patterns start with, writable only where a writing
// grant names them; what the kernel cannot restate is said.
func TestAgentView_narrowsToGrantedPaths(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"notes/docs/sub", "notes/drafts", "notes/private", "work", "cfg"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc", filepath.Join(base, "notes", "etc-link")); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
settings: {state_dir: ../state}
resources:
  notes: {kind: fs, root: ../notes}
  work: {kind: fs, root: ../work}
agents:
  bot:
    grants:
      - {resource: notes, actions: [read], paths: ["docs/**", "docs/sub/*.md", "etc-link/**", "missing/**"]}
      - {resource: notes, actions: [read, write], paths: ["drafts/*.md"], when: 'action == "read" || action == "write"'}
      - {resource: work, actions: [read, write]}
    deny:
      - {resource: notes, paths: ["docs/secret/**"]}
`
	pf := filepath.Join(base, "cfg", "warden.yaml")
	if err := os.WriteFile(pf, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(pf)
	if err != nil {
		t.Fatal(err)
	}
	v, err := agentView(p, "bot")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sp := range v.paths {
		got = append(got, sp.Access.String()+" "+strings.TrimPrefix(sp.Path, base))
	}
	slices.Sort(got)
	want := []string{"ro /notes/docs", "rw /notes/drafts", "rw /work"}
	if !slices.Equal(got, want) {
		t.Errorf("paths %q, want %q", got, want)
	}
	notes := strings.Join(v.notes, "\n")
	for _, w := range []string{"etc-link leads outside", "missing does not exist", "deny rules are not enforced", "condition of agents.bot.grants[1]"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	for _, sp := range v.paths {
		if sp.Access == sandbox.Write && strings.HasSuffix(sp.Path, "/notes") {
			t.Errorf("the whole notes root is writable: %v", sp)
		}
	}
}
