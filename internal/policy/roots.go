package policy

import (
	"fmt"
	"path/filepath"
	"slices"
)

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
func (c *compiler) broadRoot(f field, written, abs string, allow bool) {
	dir := broadDir(abs)
	if dir == "" {
		return
	}
	what := "the system directory " + dir
	if filepath.Dir(dir) == dir {
		what = "the file system's root " + dir
	}
	if allow {
		c.p.warnings = append(c.p.warnings, &Problem{Pos: c.pos(f.val), Path: f.path,
			Msg: fmt.Sprintf("root %q is %s (allow_broad_root: true): every file below it that a grant covers is reachable", written, what)})
		return
	}
	c.add(f.val, f.path, "point root at the directory the agent needs, such as ./notes or /srv/app/data; if you really mean "+dir+", add allow_broad_root: true to the resource",
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
