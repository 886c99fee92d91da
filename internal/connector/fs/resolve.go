package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

const (
	// maxSymlinks bounds symbolic link expansions in one resolution, as
	// Linux does (ELOOP after 40).
	maxSymlinks = 40
	// maxOpenDirs bounds the directory handles one resolution or walk
	// keeps open; deeper levels are closed and re-opened on demand.
	maxOpenDirs = 32
	// maxSteps bounds the work of one resolution (components processed
	// plus directories re-opened), so a crafted tree of links cannot make
	// a single call arbitrarily expensive. A 4096-byte path has at most
	// 2048 components; the rest is room for links.
	maxSteps = 1 << 14
)

// level is one directory on a dirStack.
type level struct {
	dir   *os.Root      // nil while closed to save descriptors
	name  string        // the name of this directory in the level below
	info  iofs.FileInfo // its identity, from Lstat in the level below
	owned bool          // whether the stack closes dir
	end   int           // length of the stack's path up to this level
}

// dirStack is a path of directories, each opened from the one below it by
// a single name (never by a multi-component path), with its identity
// checked against the Lstat that classified it. Level 0 is the base (the
// resource root, or the directory a walk starts in) and is borrowed.
//
// To bound descriptors on deep paths at most maxOpenDirs levels are open:
// the oldest are closed, keeping their name and identity, and re-opened one
// by one from the nearest open ancestor when ".." (or a walk) returns to
// them. A re-opened level must have the identity it had, or the stack
// fails with errChanged.
type dirStack struct {
	levels []level
	path   []byte // names of levels 1… joined by "/"
	nopen  int    // owned levels currently open
	low    int    // no owned level below low is open
	steps  *int
	hook   func(event, rel string)
}

func newDirStack(base *os.Root, info iofs.FileInfo, steps *int, hook func(event, rel string)) *dirStack {
	return &dirStack{levels: []level{{dir: base, info: info}}, low: 1, steps: steps, hook: hook}
}

// depth is the number of levels above the base.
func (s *dirStack) depth() int { return len(s.levels) - 1 }

// rel is the slash-separated path of the top relative to the base, or ".".
func (s *dirStack) rel() string {
	if len(s.path) == 0 {
		return "."
	}
	return string(s.path)
}

// names returns the names of the levels above the base.
func (s *dirStack) names() []string {
	out := make([]string, 0, len(s.levels)-1)
	for _, l := range s.levels[1:] {
		out = append(out, l.name)
	}
	return out
}

// push opens name, a directory in the top level whose Lstat is info, and
// makes it the new top.
func (s *dirStack) push(name string, info iofs.FileInfo) error {
	parent, err := s.top()
	if err != nil {
		return err
	}
	if s.hook != nil {
		s.hook("open", join(s.rel(), name))
	}
	sub, err := openDir(parent, name, info)
	if err != nil {
		return err
	}
	if len(s.path) > 0 {
		s.path = append(s.path, '/')
	}
	s.path = append(s.path, name...)
	s.levels = append(s.levels, level{dir: sub, name: name, info: info, owned: true, end: len(s.path)})
	s.nopen++
	s.trim(len(s.levels) - 1)
	return nil
}

// pushLazy makes name, a directory in the top level whose Lstat is info,
// the new top without opening it: top opens it, with the identity check,
// when something inside it must be examined.
func (s *dirStack) pushLazy(name string, info iofs.FileInfo) {
	if len(s.path) > 0 {
		s.path = append(s.path, '/')
	}
	s.path = append(s.path, name...)
	s.levels = append(s.levels, level{name: name, info: info, owned: true, end: len(s.path)})
}

// pop removes the top level, closing it. The base is never popped.
func (s *dirStack) pop() {
	n := len(s.levels) - 1
	if n == 0 {
		panic("fs: pop of the base directory")
	}
	if l := s.levels[n]; l.dir != nil && l.owned {
		l.dir.Close()
		s.nopen--
	}
	s.levels = s.levels[:n]
	s.path = s.path[:s.levels[n-1].end]
	s.low = min(s.low, n)
}

// top returns the top directory, re-opening it and any closed levels below
// it from the nearest open ancestor.
func (s *dirStack) top() (*os.Root, error) {
	i := len(s.levels) - 1
	if s.levels[i].dir != nil {
		return s.levels[i].dir, nil
	}
	j := i - 1
	for s.levels[j].dir == nil { // level 0 is always open
		j--
	}
	if s.hook != nil {
		s.hook("reopen", s.rel())
	}
	for k := j + 1; k <= i; k++ {
		if s.steps != nil {
			if *s.steps++; *s.steps > maxSteps {
				return nil, errTooComplex
			}
		}
		l := &s.levels[k]
		sub, err := openDir(s.levels[k-1].dir, l.name, l.info)
		if err != nil {
			return nil, err
		}
		l.dir = sub
		s.nopen++
		s.low = min(s.low, k)
		s.trim(k)
	}
	return s.levels[i].dir, nil
}

// trim closes the lowest open owned levels, never keep, until at most
// maxOpenDirs are open.
func (s *dirStack) trim(keep int) {
	for s.nopen > maxOpenDirs {
		for s.low < len(s.levels) && (s.levels[s.low].dir == nil || !s.levels[s.low].owned) {
			s.low++
		}
		if s.low >= keep {
			return
		}
		s.levels[s.low].dir.Close()
		s.levels[s.low].dir = nil
		s.nopen--
		s.low++
	}
}

// detachTop closes every level but the top and hands the top over to the
// caller, who closes it if owned. The stack is empty afterwards.
func (s *dirStack) detachTop() (dir *os.Root, owned bool) {
	n := len(s.levels) - 1
	top := s.levels[n]
	s.levels = s.levels[:n]
	s.closeAll()
	return top.dir, top.owned
}

// closeAll closes every owned level that is open.
func (s *dirStack) closeAll() {
	for i := range s.levels {
		if l := &s.levels[i]; l.dir != nil && l.owned {
			l.dir.Close()
			l.dir = nil
		}
	}
	s.levels = s.levels[:0]
	s.path = s.path[:0]
	s.nopen = 0
}

// openDir opens the directory name in parent and checks that it is the
// object whose Lstat is want. Opening "name/." makes os.Root open name with
// O_DIRECTORY|O_NOFOLLOW, so the open never blocks on a FIFO or opens a
// device that was swapped in; if name was swapped for a symbolic link,
// os.Root follows it only within parent, and the identity check fails.
func openDir(parent *os.Root, name string, want iofs.FileInfo) (*os.Root, error) {
	sub, err := parent.OpenRoot(name + "/.")
	if err != nil {
		if errors.Is(err, iofs.ErrPermission) {
			return nil, err
		}
		// Lstat saw a directory here a moment ago.
		return nil, errors.Join(errChanged, err)
	}
	got, err := sub.Stat(".")
	if err != nil {
		sub.Close()
		return nil, err
	}
	if !os.SameFile(want, got) {
		sub.Close()
		return nil, errChanged
	}
	return sub, nil
}

// errTooComplex reports a resolution that exceeded maxSteps.
var errTooComplex = errors.New("path resolution exceeded its step budget")

// target is the outcome of resolving a path.
type target struct {
	// rel is the resolved path relative to the root ("." for the root):
	// the value of inv.Path.
	rel string
	// fail, if set, is a resolution failure that depends on the file
	// system (a missing directory, a link leaving the root). It is
	// reported by Execute, after the policy has decided on rel, so that
	// errors never reveal what exists under a path the agent may not see.
	fail error
	// missing reports that a component does not exist; rel is then the
	// resolved prefix with the rest of the path appended lexically. When
	// the rest holds no "..", dir and name are the directory holding the
	// first missing component and its name, and rest are the components
	// after it (empty when only the final component is missing), so that
	// create, mkdir and move can proceed; reads report not-found.
	missing bool
	rest    []string
	// viaLink reports that the missing name came from a symbolic link's
	// target: the link dangles. A dangling link is never a write target,
	// so that writing never creates a file at a link's destination.
	viaLink bool
	// dirOnly reports that the path ended in "/" or "." after the missing
	// name, so it can only name a directory.
	dirOnly bool
	// dir is the directory holding the final entry name, or, when name is
	// "", the final object itself (the path ended in "/", "." or "..").
	// With resolver.parent set, name is "" only for the root.
	dir    *os.Root
	dirRel string // the path of dir relative to the root
	owned  bool   // whether closing the target closes dir
	name   string
	// info is the Lstat of the final entry (never a link: links are
	// followed, except by a strict resolver), or the identity of dir when
	// name is "", or nil when it is missing.
	info iofs.FileInfo
}

// close releases the target's handle. It is idempotent.
func (t *target) close() {
	if t.dir != nil && t.owned {
		t.dir.Close()
	}
	t.dir = nil
}

// resolver resolves agent paths inside one opened root.
type resolver struct {
	root     *os.Root
	rootInfo iofs.FileInfo
	// reserved returns true if info is one of Warden's reserved objects.
	reserved func(info iofs.FileInfo) bool
	hook     func(event, rel string)
	// parent makes a path that ends in a directory ("d/", "d/.", "a/..")
	// resolve to that directory's parent and its name, as the final
	// component does, because changing an entry needs the directory that
	// holds it. Mutating operations set it.
	parent bool
	// strict refuses symbolic links: one in the middle of the path fails
	// with a conflict, and one at the end is the target itself (info is
	// its Lstat). Undo sets it, because journal paths are physical.
	strict bool
}

// resolve walks p, which passed checkPath, component by component from the
// root, following symbolic links the way the kernel would but never
// leaving the root (see the package documentation). op and p name the call
// in errors. An error return means the call must fail now (a cancelled
// context, a directory that changed identity, a reserved object); failures
// that would reveal what exists are put in target.fail instead.
func (r *resolver) resolve(ctx context.Context, op, p string) (*target, error) {
	steps := 0
	st := newDirStack(r.root, r.rootInfo, &steps, r.hook)
	defer st.closeAll()

	pending := appendReversed(nil, p)
	links := 0
	// linkBase is the lowest index of pending holding a component that
	// came from a link's target; such components always sit on top of the
	// ones from the path itself. noLink when there are none.
	const noLink = int(^uint(0) >> 1)
	linkBase := noLink
	// lastLink is where the most recent link was found. A path that only
	// escapes because of a link is reported at the link's location, so the
	// policy decides on where the link lives before anything is revealed.
	lastLink := "."
	t := &target{}
	deferFail := func(rel string, err error) (*target, error) {
		t.rel, t.fail = rel, err
		return t, nil
	}
	for len(pending) > 0 {
		if steps++; steps > maxSteps {
			return deferFail(st.rel(), core.E(op, core.KindInvalid, core.ReasonInvalidPath,
				quote(p)+" is too complex to resolve (too many components and links).", errTooComplex))
		}
		if steps%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, ctxError(op, err)
			}
		}
		idx := len(pending) - 1
		name := pending[idx]
		pending = pending[:idx]
		fromLink := idx >= linkBase
		if idx <= linkBase {
			linkBase = noLink
		}
		switch name {
		case ".":
			continue
		case "..":
			if st.depth() == 0 {
				return deferFail(lastLink, escapesViaLink(op, p))
			}
			st.pop()
			continue
		}

		parent, err := st.top()
		if err != nil {
			return nil, fsError(op, p, err)
		}
		// here is the entry's root-relative path; it is built only when
		// needed, so that deep paths cost linear time.
		here := func() string { return join(st.rel(), name) }
		fi, err := parent.Lstat(name)
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				return r.missing(op, p, t, st, name, pending, fromLink, lastLink, err)
			}
			return deferFail(here(), fsError(op, p, err))
		}
		if r.hook != nil {
			r.hook("lstat", here())
		}
		if r.reserved(fi) {
			return nil, reservedError(op, p)
		}
		switch {
		case fi.Mode()&iofs.ModeSymlink != 0 && r.strict:
			if !onlyDots(pending) {
				return deferFail(here(), core.E(op, core.KindConflict, core.ReasonChanged,
					quote(p)+" now passes through a symbolic link; Warden does not follow links here.", nil))
			}
			t.rel, t.name, t.info, t.dirRel = here(), name, fi, st.rel()
			t.dir, t.owned = st.detachTop()
			return t, nil
		case fi.Mode()&iofs.ModeSymlink != 0:
			if links++; links > maxSymlinks {
				return deferFail(here(), core.E(op, core.KindInvalid, core.ReasonInvalidPath,
					quote(p)+" has too many levels of symbolic links.", nil))
			}
			dest, err := parent.Readlink(name)
			if err != nil {
				// It was a link a moment ago.
				return nil, changed(op, p, err)
			}
			lastLink = here()
			if dest == "" {
				return deferFail(lastLink, notFound(op, p, nil))
			}
			if dest[0] == '/' {
				return deferFail(lastLink, escapesViaLink(op, p))
			}
			linkBase = min(linkBase, len(pending))
			pending = appendReversed(pending, dest)
		case fi.IsDir() && len(pending) > 0 && !(r.parent && onlyDots(pending)):
			if err := st.push(name, fi); err != nil {
				return nil, fsError(op, p, err)
			}
		case len(pending) > 0 && !fi.IsDir():
			return deferFail(here(), notDirectory(op, p, nil))
		default:
			t.rel, t.name, t.info, t.dirRel = here(), name, fi, st.rel()
			t.dir, t.owned = st.detachTop()
			return t, nil
		}
	}
	// The path ended in "/", "." or "..": the target is the top directory.
	if _, err := st.top(); err != nil {
		return nil, fsError(op, p, err)
	}
	if r.parent && st.depth() > 0 {
		// Hand over the directory that holds the top, with its name.
		top := st.levels[len(st.levels)-1]
		st.pop()
		if _, err := st.top(); err != nil {
			return nil, fsError(op, p, err)
		}
		t.rel, t.name, t.info, t.dirRel = join(st.rel(), top.name), top.name, top.info, st.rel()
		t.dir, t.owned = st.detachTop()
		return t, nil
	}
	t.rel = st.rel()
	t.dirRel = t.rel
	t.info = st.levels[len(st.levels)-1].info
	t.dir, t.owned = st.detachTop()
	return t, nil
}

// missing completes the target of a path whose component name does not
// exist in the top directory of st. The failure stays deferred; when the
// rest of the path holds no "..", the target keeps the directory and the
// names still to create, for the operations that create them.
func (r *resolver) missing(op, p string, t *target, st *dirStack, name string, pending []string, fromLink bool, lastLink string, err error) (*target, error) {
	rel, ok := lexicalRest(st.names(), name, pending)
	if !ok {
		t.rel, t.fail = lastLink, escapesViaLink(op, p)
		return t, nil
	}
	t.rel, t.missing = rel, true
	var rest []string
	for i := len(pending) - 1; i >= 0; i-- {
		switch c := pending[i]; c {
		case ".":
		case "..":
			// Creating "a/missing/../b" would create a/missing, which the
			// policy never saw: report not-found, as the kernel would.
			t.fail = notFound(op, p, err)
			return t, nil
		default:
			rest = append(rest, c)
		}
	}
	t.name, t.rest, t.viaLink = name, rest, fromLink
	t.dirOnly = len(pending) > 0 && pending[0] == "."
	t.dirRel = st.rel()
	t.dir, t.owned = st.detachTop()
	return t, nil
}

// onlyDots reports whether every pending component is ".".
func onlyDots(pending []string) bool {
	for _, c := range pending {
		if c != "." {
			return false
		}
	}
	return true
}

// appendReversed appends the components of p (split at '/') to stack in
// reverse order, so the first component ends up on top. A trailing slash
// becomes a final "." component, which makes the walk require a directory
// there, as the kernel does.
func appendReversed(stack []string, p string) []string {
	if strings.HasSuffix(p, "/") {
		stack = append(stack, ".")
	}
	end := len(p)
	for i := len(p) - 1; i >= -1; i-- {
		if i == -1 || p[i] == '/' {
			if c := p[i+1 : end]; c != "" {
				stack = append(stack, c)
			}
			end = i
		}
	}
	return stack
}

// lexicalRest joins the resolved prefix, the missing component and the
// components still pending (a reversed stack), cleaning "." and "..". It
// reports false if ".." would climb above the root.
func lexicalRest(prefix []string, missing string, pending []string) (string, bool) {
	out := append(prefix, missing)
	for i := len(pending) - 1; i >= 0; i-- {
		switch c := pending[i]; c {
		case ".":
		case "..":
			if len(out) == 0 {
				return "", false
			}
			out = out[:len(out)-1]
		default:
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return ".", true
	}
	return strings.Join(out, "/"), true
}

// join joins a resolved directory path and a name.
func join(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

// reservedError is the refusal for Warden's own files.
func reservedError(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonReservedPath,
		quote(p)+" is reserved for Warden's own state and policy; it cannot be accessed through this tool.", nil)
}
