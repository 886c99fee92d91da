package fs

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sensitive"
)

// Grant options of the kind: what a grant allows beyond its actions.
const (
	// OptionRecursive lets a delete remove a directory with everything in it.
	OptionRecursive = "recursive"
	// OptionHardlinks lets writes replace a file that has other hard links.
	OptionHardlinks = "hardlinks"
)

// Kind is the "fs" resource kind: a local directory.
var Kind = &core.ResourceKind{
	Name:        "fs",
	Summary:     "a local directory",
	Actions:     []string{"read", "list", "search", "stat", "write", "edit", "mkdir", "move", "delete"},
	ReadActions: []string{"read", "list", "search", "stat"},
	// Whoever may read, list or search a file may see its metadata.
	Implied: map[string][]string{"read": {"stat"}, "list": {"stat"}, "search": {"stat"}},
	Resource: core.ResourceSyntax{
		Keys:   []string{"root", "allow_broad_root", "limits"},
		Decode: decodeResource,
	},
	Rules: core.RuleSyntax{
		GrantKeys: []string{"recursive", "hardlinks"},
		Paths:     &core.PathSyntax{Hint: "patterns are relative to the root, such as drafts/** or *.md"},
		Decode:    decodeRule,
		// A file that usually holds secrets is covered only by a grant
		// whose pattern names it.
		Sensitive:      sensitive.Path,
		NamesSensitive: sensitive.Named,
	},
	New: connector.Constructor(New),
	Describe: func(*core.ResourceSpec) string {
		return `a local directory; paths are relative to its root, such as "docs/a.md"; "." is the root`
	},
	ScopeNote: "files that usually hold secrets (.env, keys, credentials) are hidden unless a grant names them",
	HostPaths: func(spec *core.ResourceSpec, writable bool) []core.HostPath {
		how := "read"
		if writable {
			how = "write"
		}
		return []core.HostPath{{Path: config(spec).Root, Write: writable, Dir: true, Why: fmt.Sprintf("resource %s (%s)", spec.Name, how)}}
	},
	HostTarget: func(spec *core.ResourceSpec, hostPath string) (string, bool) {
		rel, err := filepath.Rel(config(spec).Root, hostPath)
		if err != nil || !filepath.IsLocal(rel) {
			return "", false
		}
		return filepath.ToSlash(rel), true
	},
	Doctor:  doctor,
	Example: example,
}

func init() { connector.Register(Kind) }

// config returns a resource's configuration; never nil.
var config = core.ConfigOf[Config]

// example is a directory with one file: what the contract suite runs the
// kind through.
var example = core.KindExample{
	Setup: func(dir string) (string, func(), error) {
		if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
			return "", nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "notes", "hello.txt"), []byte("hello\n"), 0o644); err != nil {
			return "", nil, err
		}
		return "{kind: fs, root: ./notes}", func() {}, nil
	},
	Grant:   "{actions: [read, list]}",
	Valid:   core.Invocation{Op: OpRead, Args: []byte(`{"path":"hello.txt"}`)},
	Missing: core.Invocation{Op: OpRead, Args: []byte(`{"path":"missing.txt"}`)},
	Invalid: []core.Invocation{
		{Op: OpRead, Args: []byte(`{"path":"../hello.txt"}`)},
		{Op: OpRead, Args: []byte(`{"path":"/etc/passwd"}`)},
	},
}
