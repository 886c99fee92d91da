package fs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// decodeResource reads a resource block of kind fs:
//
//	root: ./notes
//	allow_broad_root: false
//	limits: {max_read_bytes: 1MiB, ...}
func decodeResource(n core.PolicyNode) any {
	cfg := &Config{}
	if f := n.Field("root"); f == nil {
		n.Missing("root", "add root: ./path/to/dir", "resource %q of kind fs needs a root directory", resourceName(n))
	} else if root, ok := f.String("root"); ok {
		cfg.Root = n.Abs(root)
		switch fi, err := os.Stat(cfg.Root); {
		case strings.TrimSpace(root) == "":
			// An empty root would silently mean the policy's directory.
			f.Problem(`write root: . for the policy's own directory, or the directory the agent needs, such as root: ./notes`, "root is empty")
		case err != nil:
			f.Problem("create the directory or fix the path", "root %q does not exist or cannot be read", root)
		case !fi.IsDir():
			f.Problem("point root at a directory", "root %q is not a directory", root)
		default:
			allow := false
			if af := n.Field("allow_broad_root"); af != nil {
				allow, _ = af.Bool("allow_broad_root")
			}
			broadRoot(f, root, cfg.Root, allow)
		}
	}
	if f := n.Field("limits"); f != nil {
		l := &cfg.Limits
		for _, x := range f.Fields("limits", []string{"max_read_bytes", "max_file_bytes", "max_list_entries", "max_search_files", "max_search_bytes", "max_search_results", "search_timeout", "max_write_bytes"}) {
			v := x.Value
			switch x.Key {
			case "max_read_bytes":
				l.MaxReadBytes, _ = v.Size(x.Key, 1, 1<<30)
			case "max_file_bytes":
				l.MaxFileBytes, _ = v.Size(x.Key, 1, 1<<40)
			case "max_list_entries":
				n, _ := v.Int(x.Key, 1, 100_000)
				l.MaxListEntries = int(n)
			case "max_search_files":
				n, _ := v.Int(x.Key, 1, 10_000_000)
				l.MaxSearchFiles = int(n)
			case "max_search_bytes":
				l.MaxSearchBytes, _ = v.Size(x.Key, 1, 1<<40)
			case "max_search_results":
				n, _ := v.Int(x.Key, 1, 100_000)
				l.MaxSearchResults = int(n)
			case "search_timeout":
				l.SearchTimeout, _ = v.Duration(x.Key, 1e6, 3600e9)
			case "max_write_bytes":
				l.MaxWriteBytes, _ = v.Size(x.Key, 1, 1<<40)
			}
		}
	}
	return cfg
}

// resourceName is the name of the resource a block belongs to, for
// problems: the last element of "resources.NAME".
func resourceName(n core.PolicyNode) string {
	p := n.Path()
	return p[strings.LastIndex(p, ".")+1:]
}

// decodeRule reads a grant's options: recursive and hardlinks.
func decodeRule(n core.PolicyNode, r *core.RuleDraft) {
	if f := n.Field(OptionRecursive); f != nil {
		if v, _ := f.Bool(OptionRecursive); v {
			r.Options = r.Options.WithFlag(OptionRecursive)
			if !slices.Contains(r.Actions, "delete") {
				f.KeyProblem("add delete to actions, or remove recursive", "recursive only applies to the delete action")
			}
		}
	}
	if f := n.Field(OptionHardlinks); f != nil {
		if v, _ := f.Bool(OptionHardlinks); v {
			r.Options = r.Options.WithFlag(OptionHardlinks)
		}
	}
}

// systemDirs are the directories a resource root may not be (after
// symlinks and .. are resolved) unless it says allow_broad_root: true:
// the file system's root and the system's top-level directories, which
// hold other users' files, the system's secrets (/etc/shadow) and
// devices, so Landlock and os.Root would narrow nothing. Subdirectories
// such as /srv/www or /home/alice/notes are fine; macOS's /private/...
// targets of /etc, /tmp and /var are listed because that is where their
// links resolve.
var systemDirs = []string{
	"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32",
	"/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys",
	"/tmp", "/usr", "/var",
	"/Applications", "/Library", "/System", "/Users", "/Volumes", "/private",
	"/private/etc", "/private/tmp", "/private/var",
}

// broadRoot reports a root that is a file system's root or a system
// directory, unless the resource says allow_broad_root: true, in which case
// it is a warning.
func broadRoot(f core.PolicyNode, written, abs string, allow bool) {
	dir := broadDir(abs)
	if dir == "" {
		return
	}
	what := "the system directory " + dir
	if filepath.Dir(dir) == dir {
		what = "the file system's root " + dir
	}
	if allow {
		f.Warn("", "root %q is %s (allow_broad_root: true): every file below it that a grant covers is reachable", written, what)
		return
	}
	f.Problem("point root at the directory the agent needs, such as ./notes or /srv/app/data; if you really mean "+dir+", add allow_broad_root: true to the resource",
		"root %q is %s, which would expose the whole system (/etc/shadow, other users' files) to the resource", written, what)
}

// broadDir returns the system directory or file system root that path is,
// with symlinks and .. resolved, or "" if it is neither. Both the path as
// written and its resolved target are checked, so neither a link to / nor
// a link from / to elsewhere hides it.
func broadDir(path string) string {
	forms := []string{filepath.Clean(path)}
	if r, err := filepath.EvalSymlinks(path); err == nil {
		forms = append(forms, filepath.Clean(r))
	}
	for _, p := range forms {
		if filepath.Dir(p) == p {
			return p
		}
		if slices.Contains(systemDirs, filepath.ToSlash(p)) {
			return p
		}
	}
	return ""
}
