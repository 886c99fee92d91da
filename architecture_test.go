package warden_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector"
	_ "github.com/warden-dev/warden/internal/connector/all"
)

const module = "github.com/warden-dev/warden"

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportDirection keeps the architecture visible in the import graph:
// the vocabulary is the bottom, the policy never depends on connectors,
// connectors never depend on the layers above them, and only main wires the
// CLI.
func TestImportDirection(t *testing.T) {
	rules := []struct {
		from    string // package path prefix (under the module)
		banned  []string
		comment string
	}{
		{"internal/core", []string{"internal/"}, "the vocabulary imports nothing internal"},
		{"internal/policy", []string{"internal/connector/", "internal/engine", "internal/mcpserver", "internal/cli", "internal/audit", "internal/approval"}, "the policy is pure decision logic; it finds kinds in the registry (internal/connector)"},
		{"internal/connector", []string{"internal/engine", "internal/mcpserver", "internal/cli", "internal/audit", "internal/approval", "internal/journal"}, "connectors see only core"},
		{"internal/audit", []string{"internal/policy", "internal/engine", "internal/connector", "internal/mcpserver", "internal/cli"}, "the audit log stands alone"},
		{"internal/approval", []string{"internal/policy", "internal/engine", "internal/connector", "internal/mcpserver", "internal/cli"}, "the approval store stands alone"},
		{"internal/journal", []string{"internal/policy", "internal/engine", "internal/connector", "internal/mcpserver", "internal/cli", "internal/audit", "internal/approval"}, "the journal sees only core"},
		{"internal/sandbox", []string{"internal/"}, "the process sandbox knows nothing of Warden"},
		{"internal/sqlscope", []string{"internal/"}, "SQL analysis knows only its own vocabulary"},
		{"internal/netguard", []string{"internal/"}, "the dial-time address check knows nothing of Warden"},
		{"internal/engine", []string{"internal/mcpserver", "internal/cli"}, "faces depend on the engine, not the reverse"},
		{"internal/mcpserver", []string{"internal/cli"}, "only main wires the CLI"},
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			target := strings.TrimPrefix(imp, module+"/")
			if target == "internal/cli" && !strings.HasPrefix(rel, "cmd/") && !strings.HasPrefix(rel, "bench/cmd/") {
				t.Errorf("%s imports internal/cli: only commands (cmd/, bench/cmd/) may", rel)
			}
			// Only the contract suite reads policies: it compiles each
			// kind's example as a user would write it.
			if strings.HasPrefix(rel, "internal/connector/") && target == "internal/policy" && rel != "internal/connector/connectortest" {
				t.Errorf("%s imports internal/policy: a kind decodes its policy through core.PolicyNode", rel)
			}
			for _, r := range rules {
				if rel != r.from && !strings.HasPrefix(rel, r.from+"/") {
					continue
				}
				for _, b := range r.banned {
					if strings.HasPrefix(target, b) && !strings.HasPrefix(target, r.from) {
						t.Errorf("%s imports %s: %s", rel, target, r.comment)
					}
				}
			}
		}
	}
}

// TestPackageDocs requires exactly one package doc comment per package, so
// every directory says what it is for.
func TestPackageDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		var withDoc []string
		fset := token.NewFileSet()
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				withDoc = append(withDoc, f)
			}
		}
		switch {
		case len(withDoc) == 0 && len(p.GoFiles) > 0:
			t.Errorf("no package doc in %s", p.ImportPath)
		case len(withDoc) > 1:
			slices.Sort(withDoc)
			t.Errorf("%s has %d package docs (%s); keep one", p.ImportPath, len(withDoc), strings.Join(withDoc, ", "))
		}
	}
}

// kindFree are the packages that never name a resource kind: they learn
// about kinds only through the registry (internal/connector), so adding a
// kind is one package under internal/connector and one line in
// internal/connector/all.
var kindFree = []string{"internal/core", "internal/policy", "internal/engine", "internal/mcpserver", "internal/cli"}

// kindWords are what names a kind outside its package: the names of the
// registered kinds and of their packages (found at run time, so a new
// kind is covered without editing this test), the words of the first
// kinds' own vocabulary, and the identifiers that once named them outside
// their packages.
var (
	kindVocabulary = []string{"sqlite", "postgres", "mysql", "openapi"}
	kindIdents     = regexp.MustCompile(`Kind(FS|SQL|HTTP)|(FS|SQL|HTTP)(Spec|Limits|Call|Target|Auth)`)
	// commonIdents are kind names that are also everyday Go identifiers
	// (the packages io/fs and net/http, the CLI's flag sets called fs):
	// only their use as whole strings is checked.
	commonIdents = map[string]bool{"fs": true, "http": true}
)

// kindWords returns the kinds' names, their package names and
// kindVocabulary.
func kindWords(pkgs []goPackage) map[string]bool {
	words := map[string]bool{}
	for _, w := range append(connector.Names(), kindVocabulary...) {
		words[w] = true
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if name, ok := strings.CutPrefix(rel, "internal/connector/"); ok && !strings.Contains(name, "/") && name != "all" && name != "connectortest" {
			words[name] = true
		}
	}
	return words
}

// notKinds are literals that spell a kind's name but mean something else,
// by file: the MCP transport over HTTP is not the http kind.
var notKinds = map[string]string{
	"internal/cli/serve.go:http":      "serve's --http flag, the streamable HTTP transport",
	"internal/mcpserver/http.go:http": "an Origin header's URL scheme",
}

// TestKindFree fails when a kind-free package imports a kind's package or
// names a kind: in an identifier, or as a whole string literal. The
// packages' tests may use real kinds; only the code is checked.
func TestKindFree(t *testing.T) {
	pkgs := listPackages(t)
	words := kindWords(pkgs)
	if !words["fs"] || !words["httpapi"] {
		t.Fatalf("kind words %v miss the kinds of this build", words)
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		free := false
		for _, k := range kindFree {
			if rel == k || strings.HasPrefix(rel, k+"/") {
				free = true
			}
		}
		if !free {
			continue
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/internal/connector/") {
				t.Errorf("%s imports %s: it must find kinds through internal/connector's registry", rel, strings.TrimPrefix(imp, module+"/"))
			}
		}
		fset := token.NewFileSet()
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.ImportSpec:
					return false
				case *ast.Ident:
					if kindIdents.MatchString(x.Name) || (words[x.Name] && !commonIdents[x.Name]) {
						t.Errorf("%s: identifier %s names a resource kind", fset.Position(x.Pos()), x.Name)
					}
				case *ast.BasicLit:
					if x.Kind != token.STRING {
						break
					}
					v, err := strconv.Unquote(x.Value)
					if err != nil || !words[strings.TrimSpace(v)] {
						break
					}
					if _, ok := notKinds[rel+"/"+f+":"+v]; !ok {
						t.Errorf("%s: %s names a resource kind", fset.Position(x.Pos()), x.Value)
					}
				}
				return true
			})
		}
	}
}

// TestSandboxInsideStartsEarly keeps the sandbox's first process fast:
// package inside runs in its package init, which Go orders by
// dependencies and then by import path, so one import that sorts late
// (strings, path/filepath, golang.org/x/...) makes it wait for most of the
// binary's initialisation, several milliseconds at every sandbox start.
// Measure with GODEBUG=inittrace=1 before adding to this list.
func TestSandboxInsideStartsEarly(t *testing.T) {
	allowed := map[string]bool{"encoding/binary": true, "errors": true, "fmt": true, "io": true, "io/fs": true, "math": true,
		"os": true, "runtime": true, "slices": true, "syscall": true, "unsafe": true}
	for _, p := range listPackages(t) {
		if p.ImportPath != module+"/internal/sandbox/inside" {
			continue
		}
		for _, imp := range p.Imports {
			if !allowed[imp] {
				t.Errorf("internal/sandbox/inside imports %s, which would delay its start", imp)
			}
		}
		return
	}
	t.Fatal("no package internal/sandbox/inside")
}
