package fs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sandbox"
)

// doctor reports, for "warden doctor", whether each root opens, what else
// a root exposes, and how undo keeps what writes replace.
func doctor(_ context.Context, in core.DoctorInput) []core.Checkup {
	roots := core.Checkup{Title: "os.Root", Summary: "every file call resolves beneath its resource's root; symlinks and .. cannot leave it"}
	undo := core.Checkup{Title: "undo", Summary: "what the journal keeps of the files a call replaces or removes"}
	for _, spec := range in.Specs {
		root := config(spec).Root
		r, err := os.OpenRoot(root)
		if err != nil {
			cause := err
			if u := errors.Unwrap(err); u != nil {
				cause = u
			}
			roots.Problem("%s: cannot open the root directory %s: %v", spec.Name, root, cause)
			continue
		}
		r.Close()
		roots.Line("%s: %s opens", spec.Name, root)
		for _, w := range reach(root, in.StateDir) {
			roots.Line("%s: warning: %s", spec.Name, w)
		}
		if !in.Writable(spec.Name) {
			undo.Line("%s: read-only, nothing to journal", spec.Name)
			continue
		}
		switch same, err := sandbox.SameFileSystem(root, in.StateDir); {
		case err != nil:
			undo.Line("%s: whether it shares a file system with the state directory is unknown (%v)", spec.Name, err)
		case same:
			undo.Line("%s: same file system as the state directory, so undo keeps hard links to replaced files over 64 KiB (smaller ones are copied into the journal)", spec.Name)
		default:
			undo.Line("%s: another file system than the state directory, so undo keeps copies", spec.Name)
		}
	}
	return []core.Checkup{roots, undo}
}

// reach warns about a root that holds the user's home directory or the
// state directory's parent: the state directory and the policy are refused
// through every resource, but whatever else lies beside them (dotfiles,
// other projects, keys the secret-file patterns do not know) is reachable
// by any grant that covers it.
func reach(root, stateDir string) []string {
	var out []string
	root = resolved(root)
	if home, err := os.UserHomeDir(); err == nil && home != "" && within(resolved(home), root) {
		out = append(out, fmt.Sprintf("the root contains your home directory %s; point root at the project directory the agent needs", home))
	}
	if parent := filepath.Dir(stateDir); within(resolved(parent), root) {
		out = append(out, fmt.Sprintf("the root contains %s, where the state directory lives; only the state directory and the policy are refused in it, so keep the policy's secret files and other projects elsewhere or point root at a subdirectory", parent))
	}
	return out
}

// resolved returns path with symlinks resolved where it exists.
func resolved(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return filepath.Clean(path)
}

// within reports whether path is dir or lies below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
