package policy

import (
	"slices"
	"strings"
	"testing"
)

// TestAgentAllowDegraded: an agent's sandbox block names the layers warden
// run may go without; namespaces are never among them.
func TestAgentAllowDegraded(t *testing.T) {
	dir := t.TempDir()
	src := `version: 1
resources:
  notes: {kind: fs, root: .}
agents:
  a:
    sandbox: {allow_degraded: [seccomp, landlock]}
    grants: [{resource: notes, actions: [read]}]
  b:
    grants: [{resource: notes, actions: [read]}]
`
	p, err := Compile([]byte(src), WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.AgentAllowDegraded("a"); !slices.Equal(got, []string{"seccomp", "landlock"}) {
		t.Errorf("a: %q", got)
	}
	if got := p.AgentAllowDegraded("b"); len(got) != 0 {
		t.Errorf("b: %q, want none", got)
	}
	_, err = Compile([]byte(strings.Replace(src, "[seccomp, landlock]", "[namespaces]", 1)), WithBaseDir(dir))
	if err == nil || !strings.Contains(err.Error(), `"namespaces" is not a sandbox layer that can be missing`) {
		t.Errorf("namespaces accepted: %v", err)
	}
}
