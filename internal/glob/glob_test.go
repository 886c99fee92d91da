package glob

import (
	"path"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		opts    Options
		path    string
		want    bool
	}{
		{"literal", "a/b.txt", Options{}, "a/b.txt", true},
		{"literal-other", "a/b.txt", Options{}, "a/c.txt", false},
		{"star-one-segment", "a/*.md", Options{}, "a/x.md", true},
		{"star-not-across-slash", "a/*.md", Options{}, "a/b/x.md", false},
		{"dstar-self", "private/**", Options{}, "private", true},
		{"dstar-below", "private/**", Options{}, "private/a/b", true},
		{"dstar-prefix-collision", "private/**", Options{}, "private2/a", false},
		{"dstar-root", "**", Options{}, ".", true},
		{"dstar-any", "**", Options{}, "a/b/c", true},
		{"star-not-root", "*", Options{}, ".", false},
		{"dstar-middle", "a/**/z", Options{}, "a/z", true},
		{"dstar-middle-deep", "a/**/z", Options{}, "a/b/c/z", true},
		{"dstar-middle-miss", "a/**/z", Options{}, "a/b/c/y", false},
		{"leading-dstar", "**/*.pem", Options{}, "x/y/k.pem", true},
		{"leading-dstar-top", "**/*.pem", Options{}, "k.pem", true},
		{"question", "a?c", Options{}, "abc", true},
		{"class", "[ab]c", Options{}, "bc", true},
		{"escape", `a\*`, Options{}, "a*", true},
		{"escape-literal-only", `a\*`, Options{}, "ab", false},
		{"trailing-slash-pattern", "drafts/", Options{}, "drafts", true},
		{"trailing-slash-path", "drafts", Options{}, "drafts/", true},
		{"fold", "Private/**", Options{Fold: true}, Fold("PRIVATE/x"), true},
		{"fold-unicode", "ÄRGER/**", Options{Fold: true}, Fold("ärger/x"), true},
		{"no-fold", "Private/**", Options{}, "private/x", false},
		{"abs", "/v1/forecast", Options{Absolute: true}, "/v1/forecast", true},
		{"abs-missing-slash", "/v1/forecast", Options{Absolute: true}, "v1/forecast", false},
		{"param", "/v1/users/{id}", Options{Absolute: true, Params: true}, "/v1/users/42", true},
		{"param-one-segment", "/v1/users/{id}", Options{Absolute: true, Params: true}, "/v1/users/42/x", false},
		{"param-not-empty", "/v1/users/{id}", Options{Absolute: true, Params: true}, "/v1/users/", false},
		{"abs-dstar", "/v1/**", Options{Absolute: true}, "/v1/a/b", true},
		{"abs-root", "/", Options{Absolute: true}, "/", true},
		{"abs-dstar-boundary", "/v1/**", Options{Absolute: true}, "/v10/a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(tt.pattern, tt.opts)
			if err != nil {
				t.Fatalf("Compile(%q) error: %v", tt.pattern, err)
			}
			if got := p.Match(tt.path); got != tt.want {
				t.Errorf("Compile(%q).Match(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		opts    Options
	}{
		{"empty", "", Options{}},
		{"absolute-fs", "/etc/**", Options{}},
		{"dotdot", "a/../b", Options{}},
		{"dot", "./a", Options{}},
		{"double-slash", "a//b", Options{}},
		{"bad-class", "a/[b", Options{}},
		{"partial-dstar", "a**", Options{}},
		{"relative-url", "v1/x", Options{Absolute: true}},
		{"bad-param", "/v1/{1x}", Options{Absolute: true, Params: true}},
		{"nul", "a\x00b", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.pattern, tt.opts); err == nil {
				t.Errorf("Compile(%q) succeeded, want an error", tt.pattern)
			}
		})
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("a/**/b", "a/x/y/b")
	f.Add("**", ".")
	f.Add("*.md", "x.md")
	f.Add("private/**", "private")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern, Options{})
		if err != nil {
			return
		}
		if path.Clean(name) != name || strings.HasPrefix(name, "/") {
			return // connectors only ever pass clean relative paths
		}
		got := p.Match(name)
		// "**" and "x/**" must agree with a prefix check on clean paths.
		if pattern == "**" && !got {
			t.Fatalf("** did not match %q", name)
		}
		if p.Literal() && got && pattern != name && pattern+"/" != name && pattern != name+"/" {
			t.Fatalf("literal %q matched %q", pattern, name)
		}
		// A one-segment pattern must agree with path.Match: the prefix,
		// suffix and segment-count shortcuts may only reject what it rejects.
		if !strings.ContainsAny(pattern, "/") && pattern != "**" && name != "" && name != "." && !strings.ContainsAny(name, "/") {
			want, _ := path.Match(pattern, name)
			if got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v, path.Match = %v", pattern, name, got, want)
			}
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	p := MustCompile("drafts/**/*.md", Options{})
	for b.Loop() {
		p.Match("drafts/2024/q1/report.md")
	}
}

func FuzzCompileName(f *testing.F) {
	for _, s := range []string{"*.md", "a*", "*x*", "[ab]*.go", `\*.md`, "report-202?.txt"} {
		f.Add(s, "report-2024.txt", false)
	}
	f.Fuzz(func(t *testing.T, pattern, name string, fold bool) {
		n, err := CompileName(pattern, fold)
		if err != nil || strings.Contains(name, "/") {
			return
		}
		p, s := pattern, name
		if fold {
			p, s = Fold(p), Fold(s)
		}
		want, _ := path.Match(p, s)
		if got := n.Match(name); got != want {
			t.Fatalf("CompileName(%q, %v).Match(%q) = %v, path.Match says %v", pattern, fold, name, got, want)
		}
	})
}
