package sensitive

import "testing"

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
	}
	for _, tt := range tests {
		if got := Named(tt.pattern); got != tt.want {
			t.Errorf("Named(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}

func BenchmarkPath(b *testing.B) {
	for b.Loop() {
		Path("drafts/2024/q1/report.md")
	}
}
