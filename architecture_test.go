package warden_test

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
		{"internal/policy", []string{"internal/connector", "internal/engine", "internal/mcpserver", "internal/cli", "internal/audit", "internal/approval"}, "the policy is pure decision logic"},
		{"internal/connector", []string{"internal/policy", "internal/engine", "internal/mcpserver", "internal/cli", "internal/audit", "internal/approval", "internal/journal"}, "connectors see only core"},
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
