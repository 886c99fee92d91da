package sandbox

import (
	"fmt"
	"strings"
)

// Access is what a process may do beneath a path.
type Access int

// Accesses. Write includes Read.
const (
	Read  Access = iota // open files for reading; list directories
	Write               // also create, write, truncate, rename, link and remove
)

func (a Access) String() string {
	if a == Write {
		return "rw"
	}
	return "ro"
}

// Path is one file or directory the process keeps access to, and why.
type Path struct {
	Path   string // absolute
	Access Access
	// Dir reports whether Path is a directory, whose whole tree the access
	// covers. [Plan] sets it from the file system.
	Dir bool
	Why string // for reports, e.g. "resource notes (write)"
	// Scratch, for a writable directory of a [Command], makes the
	// program's writes land in an overlay: in Scratch/upper (with
	// Scratch/work, the overlay's own), two empty directories the caller
	// made, while the host's directory stays unchanged. The caller applies
	// the changes, or not, once the program ended.
	Scratch string `json:",omitempty"`
}

func (p Path) String() string {
	s := p.Access.String() + " " + p.Path
	if p.Dir {
		s += "/"
	}
	if p.Why != "" {
		s += " (" + p.Why + ")"
	}
	return s
}

// Modes of a [Report].
const (
	ModeEnforced    = "enforced"    // the process is restricted to Report.Paths
	ModeAvailable   = "available"   // the kernel supports Landlock; nothing is restricted yet
	ModeUnsupported = "unsupported" // the kernel offers no Landlock; nothing is restricted
	ModeDisabled    = "disabled"    // the caller chose not to restrict (set by the caller)
)

// Report says what Landlock does for this process.
type Report struct {
	// Supported reports whether the kernel offers Landlock.
	Supported bool
	// ABI is the kernel's Landlock ABI version, 0 when unsupported.
	ABI int
	// Enforced reports whether the process is now restricted.
	Enforced bool
	// Mode is one of ModeEnforced, ModeAvailable, ModeUnsupported and
	// ModeDisabled.
	Mode string
	// Paths are the paths the process keeps (or would keep) access to:
	// those that exist, merged, in the order given.
	Paths []Path
	// Notes are things an operator should know: skipped paths, rights the
	// kernel's ABI cannot grant or restrict.
	Notes []string
}

// String summarises the report in one line for logs, such as
// "landlock: enforced (ABI 7), 6 paths".
func (r Report) String() string {
	var s string
	switch r.Mode {
	case ModeEnforced:
		s = fmt.Sprintf("landlock: enforced (ABI %d), %s", r.ABI, plural(len(r.Paths), "path"))
	case ModeAvailable:
		s = fmt.Sprintf("landlock: available (ABI %d), not enforced", r.ABI)
	case ModeDisabled:
		s = "landlock: disabled"
	default:
		s = "landlock: unsupported by this kernel"
	}
	if len(r.Notes) > 0 {
		s += " (" + strings.Join(r.Notes, "; ") + ")"
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
