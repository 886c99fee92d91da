package sensitive

import (
	"slices"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{".env", true},
		{".env.local", true},
		{"app/.ENV.production", true},
		{".ssh/id_rsa", true},
		{"home/.ssh/known_hosts", true},
		{".ssh", true},
		{"keys/id_ed25519", true},
		{"certs/server.pem", true},
		{"certs/server.KEY", true},
		{".git/config", true},
		{"repo/.git/config", true},
		{".git/HEAD", false},
		{".aws/credentials", true},
		{".config/gcloud/credentials.db", true},
		{".netrc", true},
		{".gnupg/pubring.kbx", true},
		{"notes.txt", false},
		{"environment.md", false},
		{"docs/env/setup.md", false},
		{"key.txt", false},
		{"monkey", false},
		{".", false},
		{"config", false},
		{".pem", false},
		{"infra/terraform.tfstate", true},
		// Issue 12: common secret files the defaults missed.
		{"etc/shadow", true},
		{"etc/gshadow", true},
		{"etc/shadow-", true},
		{"shadow", true},
		{"etc/master.passwd", true},
		{"src/shadow/button.tsx", false}, // a directory named shadow is not a password file
		{"keys/credentials.json", true},
		{"android/release.keystore", true},
		{"app/KEYS.JKS", true},
		{".bash_history", true},
		{"home/bob/.zsh_history", true},
		{".python_history", true},
		{".psql_history", true},
		{".local/share/fish/fish_history", true},
		{"_history", false},
		{"docs/history.md", false},
		{"home/.netrc", true},
		{"home/.pgpass", true},
		{"home/.git-credentials", true},
		{"home/.docker/config.json", true},
		{"home/.kube/config", true},
		{"clusters/prod.kubeconfig", true},
		{"clusters/kubeconfig", true},
	}
	for _, tt := range tests {
		if got := Path(tt.path); got != tt.want {
			t.Errorf("Path(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestNamed(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"**", false},
		{"*", false},
		{"docs/**", false},
		{"id_*", false},
		{".env", true},
		{".env*", true},
		{"**/*.pem", true},
		{"certs/*.key", true},
		{".ssh/**", true},
		{".git/config", true},
		{"config/**", false},
		{"secrets/.netrc", true},
		{"etc/shadow", true},
		{"**/.*_history", true},
		{"**/*.jks", true},
		{"shadow/**", true},
	}
	for _, tt := range tests {
		if got := Named(tt.pattern); got != tt.want {
			t.Errorf("Named(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

// TestPatterns: every pattern Patterns lists for display is one that Path
// recognises and a grant naming it unlocks.
func TestPatterns(t *testing.T) {
	pats := Patterns()
	for _, want := range []string{"shadow", "gshadow", "master.passwd", "credentials.json", "*.keystore", "*.jks", ".*_history", ".netrc", ".pgpass", ".git-credentials", ".docker/", ".kube/", "*.kubeconfig", ".env*"} {
		if !slices.Contains(pats, want) {
			t.Errorf("nil lacks %q", want)
		}
	}
	for _, p := range pats {
		example := strings.ReplaceAll(p, "*", "x")
		if strings.HasSuffix(example, "/") {
			example += "x"
		}
		if !Path(example) {
			t.Errorf("Path(%q) = false for the listed pattern %q", example, p)
		}
		if !Named(p) && !Named(p+"**") {
			t.Errorf("Named(%q) = false: a grant could not name a listed pattern", p)
		}
	}
}

func BenchmarkPath(b *testing.B) {
	for b.Loop() {
		Path("drafts/2024/q1/report.md")
	}
}
