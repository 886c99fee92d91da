// Package glob matches slash-separated paths against patterns.
//
// A pattern is a sequence of segments separated by "/". A segment is
//   - "**": any number of segments, including none;
//   - "{name}" (only with [Options.Params]): exactly one non-empty segment;
//   - anything else: one segment, matched with path.Match syntax
//     ("*", "?", "[a-z]", "\\" escapes), never crossing a "/".
//
// "dir/**" therefore matches "dir" itself and everything beneath it. The
// path "." (a resource's root) has no segments: "**" matches it, "*" does not.
package glob

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Options select a pattern dialect.
type Options struct {
	// Fold makes matching case-insensitive (simple Unicode folding).
	// Deny rules use it so a case-insensitive filesystem cannot sidestep them.
	Fold bool
	// Absolute requires patterns and paths to start with "/" (URL paths).
	Absolute bool
	// Params allows "{name}" segments (URL path templates).
	Params bool
}

// Pattern is a compiled pattern. It is immutable and safe for concurrent use.
type Pattern struct {
	src  string
	segs []segment
	opts Options
	// nsegs is the exact number of path segments the pattern matches when
	// it has no "**"; -1 otherwise. It rejects most paths without matching.
	nsegs int
}

type segment struct {
	text  string // literal or path.Match pattern (folded when Options.Fold)
	kind  segKind
	param string
	// prefix and suffix are literal text a wildcard segment's match must
	// start and end with, checked before the slower path.Match. When the
	// segment is just "*" around them (as in "*.md"), they decide alone.
	prefix, suffix string
	simple         bool
}

type segKind uint8

const (
	segLiteral segKind = iota
	segWild
	segAny   // **
	segParam // {name}
)

// Compile parses a pattern. Errors say what is wrong in a sentence that can
// be shown to whoever wrote the pattern.
func Compile(pattern string, opts Options) (*Pattern, error) {
	p := &Pattern{src: pattern, opts: opts}
	body := pattern
	if opts.Absolute {
		if !strings.HasPrefix(body, "/") {
			return nil, fmt.Errorf("pattern %q must start with \"/\"", pattern)
		}
		body = body[1:]
	} else {
		if body == "" {
			return nil, errors.New("pattern is empty; use \"**\" for everything")
		}
		if strings.HasPrefix(body, "/") {
			return nil, fmt.Errorf("pattern %q must be relative to the resource root (no leading \"/\")", pattern)
		}
	}
	if strings.ContainsRune(body, 0) {
		return nil, fmt.Errorf("pattern %q contains a NUL byte", pattern)
	}
	if body == "" || body == "." {
		return p, nil
	}
	body = strings.TrimSuffix(body, "/")
	for _, s := range strings.Split(body, "/") {
		switch {
		case s == "":
			return nil, fmt.Errorf("pattern %q has an empty segment (\"//\")", pattern)
		case s == "." || s == "..":
			return nil, fmt.Errorf("pattern %q must not contain %q segments", pattern, s)
		case s == "**":
			if n := len(p.segs); n > 0 && p.segs[n-1].kind == segAny {
				continue // "**/**" is "**"
			}
			p.segs = append(p.segs, segment{kind: segAny})
		case strings.Contains(s, "**"):
			return nil, fmt.Errorf("pattern %q: \"**\" must be a whole segment, as in \"a/**/b\"", pattern)
		case opts.Params && strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			name := s[1 : len(s)-1]
			if !validParam(name) {
				return nil, fmt.Errorf("pattern %q: parameter %q must be a name like {id}", pattern, s)
			}
			p.segs = append(p.segs, segment{kind: segParam, param: name})
		default:
			if opts.Fold {
				s = Fold(s)
			}
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("pattern %q: malformed segment %q (check [ ] and \\ escapes)", pattern, s)
			}
			if strings.ContainsAny(s, `*?[\`) {
				p.segs = append(p.segs, wildSegment(s))
			} else {
				p.segs = append(p.segs, segment{text: s, kind: segLiteral})
			}
		}
	}
	p.nsegs = len(p.segs)
	for _, s := range p.segs {
		if s.kind == segAny {
			p.nsegs = -1
		}
	}
	return p, nil
}

// wildSegment precomputes the literal text around a wildcard segment's
// metacharacters.
func wildSegment(s string) segment {
	seg := segment{text: s, kind: segWild}
	if i := strings.IndexAny(s, `*?[\`); i > 0 {
		seg.prefix = s[:i]
	}
	if i := strings.LastIndexAny(s, `*?]\`); i >= 0 && i < len(s)-1 {
		// A backslash before the suffix would make it an escape; keep it simple.
		if s[i] != '\\' {
			seg.suffix = s[i+1:]
		}
	}
	// "PREFIX*SUFFIX" with one star and no other metacharacter matches
	// exactly the names with that prefix and suffix, long enough for both.
	seg.simple = strings.Count(s, "*") == 1 && !strings.ContainsAny(s, `?[\`) &&
		len(seg.prefix)+len(seg.suffix)+1 == len(s)
	return seg
}

func validParam(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// MustCompile is Compile for patterns known to be valid; it panics otherwise.
func MustCompile(pattern string, opts Options) *Pattern {
	p, err := Compile(pattern, opts)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Literal reports whether the pattern has no wildcards or parameters.
func (p *Pattern) Literal() bool {
	for _, s := range p.segs {
		if s.kind != segLiteral {
			return false
		}
	}
	return true
}

// Segments returns the pattern's segments as written (folded if Fold).
func (p *Pattern) Segments() []string {
	out := make([]string, len(p.segs))
	for i, s := range p.segs {
		switch s.kind {
		case segAny:
			out[i] = "**"
		case segParam:
			out[i] = "{" + s.param + "}"
		default:
			out[i] = s.text
		}
	}
	return out
}

// Match reports whether name matches the pattern. With Fold, name must
// already be folded by the caller (see [Fold]) so a path is folded once for
// many patterns.
func (p *Pattern) Match(name string) bool {
	if p.opts.Absolute {
		if !strings.HasPrefix(name, "/") {
			return false
		}
		name = name[1:]
	}
	name = strings.TrimSuffix(name, "/")
	if name == "." {
		name = ""
	}
	if p.nsegs >= 0 {
		n := 0
		if name != "" {
			n = strings.Count(name, "/") + 1
		}
		if n != p.nsegs {
			return false
		}
	}
	return matchSegs(p.segs, name)
}

// matchSegs matches segments against the remaining path, which has no
// leading slash; "" means no segments are left.
func matchSegs(segs []segment, rest string) bool {
	for len(segs) > 0 {
		s := segs[0]
		if s.kind == segAny {
			segs = segs[1:]
			if len(segs) == 0 {
				return true
			}
			// Try every suffix of rest that starts at a segment boundary.
			for {
				if matchSegs(segs, rest) {
					return true
				}
				i := strings.IndexByte(rest, '/')
				if i < 0 {
					return false
				}
				rest = rest[i+1:]
			}
		}
		if rest == "" {
			return false
		}
		head, tail := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			head, tail = rest[:i], rest[i+1:]
		}
		switch s.kind {
		case segLiteral:
			if head != s.text {
				return false
			}
		case segParam:
			// any non-empty segment
		case segWild:
			if !s.matchOne(head) {
				return false
			}
		}
		segs, rest = segs[1:], tail
	}
	return rest == ""
}

// Fold returns the case-folded form of s used by patterns compiled with
// Options.Fold.
func Fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// matchOne matches a wildcard segment against one name.
func (s *segment) matchOne(name string) bool {
	if !strings.HasPrefix(name, s.prefix) || !strings.HasSuffix(name, s.suffix) {
		return false
	}
	if s.simple {
		return len(name) >= len(s.prefix)+len(s.suffix)
	}
	ok, _ := path.Match(s.text, name)
	return ok
}

// Name is a compiled pattern for a single name (no "/"), such as a file
// name glob ("*.md"). It is immutable and safe for concurrent use.
type Name struct {
	seg  segment
	fold bool
}

// CompileName compiles a one-segment pattern in path.Match syntax. With
// fold, matching ignores case.
func CompileName(pattern string, fold bool) (*Name, error) {
	if pattern == "" || strings.Contains(pattern, "/") {
		return nil, fmt.Errorf("name pattern %q must be one non-empty segment", pattern)
	}
	if fold {
		pattern = Fold(pattern)
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil, fmt.Errorf("name pattern %q is malformed (check [ ] and \\ escapes)", pattern)
	}
	n := &Name{fold: fold}
	if strings.ContainsAny(pattern, `*?[\`) {
		n.seg = wildSegment(pattern)
	} else {
		n.seg = segment{text: pattern, kind: segLiteral}
	}
	return n, nil
}

// Match reports whether name matches.
func (n *Name) Match(name string) bool {
	if n.fold {
		name = Fold(name)
	}
	if n.seg.kind == segLiteral {
		return name == n.seg.text
	}
	return n.seg.matchOne(name)
}
