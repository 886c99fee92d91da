package fs

import (
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// MaxPathLen is the longest path argument accepted, in bytes.
const MaxPathLen = 4096

// checkPath validates the path argument before it touches the file system.
// It refuses what is malformed (empty, NUL, too long), what is absolute or
// not portable (a leading backslash, a drive letter, a Windows device name),
// and what climbs above the root lexically, treating both '/' and '\' as
// separators so the guard behaves the same on every system. Everything
// else, including percent signs and backslashes inside names, is literal.
func checkPath(op, resource, p string) error {
	invalid := func(msg string) error {
		return core.E(op, core.KindInvalid, core.ReasonInvalidPath, msg, nil)
	}
	switch {
	case p == "":
		return invalid(`The path is empty; use "." for the root of ` + quote(resource) + `.`)
	case strings.IndexByte(p, 0) >= 0:
		return invalid("The path contains a NUL byte, which no file name can contain.")
	case len(p) > MaxPathLen:
		return invalid("The path is longer than 4096 bytes.")
	case p[0] == '/':
		example := strings.TrimLeft(p, "/")
		if example == "" {
			example = "."
		}
		return invalid("The path must be relative to the root of " + quote(resource) +
			"; use " + quote(example) + ", not " + quote(p) + ".")
	case p[0] == '\\':
		return invalid("The path " + quote(p) + ` starts with a backslash; use a path relative to the root with "/" between directories.`)
	}

	// One pass over the components, splitting on both separators: reserved
	// device names anywhere, and the lexical depth, which must never go
	// below the root.
	var kept []string // the lexically cleaned components, for the drive check
	first := ""
	for i, c := range splitPortable(p) {
		if i == 0 {
			first = c
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if len(kept) == 0 {
				return core.E(op, core.KindInvalid, core.ReasonPathEscapes,
					"The path "+quote(p)+` climbs above the root with ".."; paths must stay inside `+quote(resource)+".", nil)
			}
			kept = kept[:len(kept)-1]
			continue
		}
		if isDeviceName(c) {
			return invalid("The path " + quote(p) + " contains " + quote(c) +
				", a reserved device name on Windows; Warden refuses such names so that the policy means the same on every system.")
		}
		kept = append(kept, c)
	}
	if isDrive(first) || (len(kept) > 0 && isDrive(kept[0])) {
		return invalid("The path " + quote(p) + " starts with a drive name; use a path relative to the root of " + quote(resource) + ".")
	}
	return nil
}

// splitPortable splits p at every '/' and '\'.
func splitPortable(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) // drops empty components
}

// isDrive reports whether c starts like a Windows drive ("C:", "c:foo").
func isDrive(c string) bool {
	return len(c) >= 2 && c[1] == ':' && ('a' <= c[0] && c[0] <= 'z' || 'A' <= c[0] && c[0] <= 'Z')
}

// isDeviceName reports whether the path component c names a Windows
// device: CON, PRN, AUX, NUL, COM1–COM9, LPT1–LPT9 (also with the
// superscript digits ¹ ² ³), CONIN$ or CONOUT$, in any ASCII case, also
// when followed by an extension, a colon suffix or trailing spaces.
func isDeviceName(c string) bool {
	if i := strings.IndexAny(c, ".:"); i >= 0 {
		c = c[:i]
	}
	c = strings.TrimRight(c, " ")
	if len(c) < 3 || len(c) > 7 {
		return false
	}
	var up [7]byte
	for i := range len(c) {
		b := c[i]
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		up[i] = b
	}
	u := string(up[:len(c)])
	switch u {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(u) < 4 || (u[:3] != "COM" && u[:3] != "LPT") {
		return false
	}
	switch u[3:] {
	case "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
		return true
	}
	return false
}
