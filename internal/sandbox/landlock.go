package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// config is the newest Landlock ABI this package was written and tested
// against; BestEffort falls back to what older kernels offer. Raising it is
// a deliberate change: V9, for one, also restricts connecting to pathname
// UNIX sockets, which a database connector may need.
var config = landlock.V7.BestEffort()

// Probe reports what the kernel offers, without restricting anything.
func Probe() Report {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil || v < 1 {
		r := Report{Mode: ModeUnsupported}
		if err != nil {
			r.Notes = []string{fmt.Sprintf("the kernel answers: %v", err)}
		}
		return r
	}
	return Report{Supported: true, ABI: v, Mode: ModeAvailable}
}

// Plan reports what [Restrict] would do with paths, without restricting
// anything. Paths must be absolute. Paths that do not exist are skipped
// and noted; one path given twice is kept once with the wider access. An
// empty list, or one in which no path exists, is an error: restricting the
// process to nothing is never what the caller meant.
func Plan(paths []Path) (Report, error) {
	r := Probe()
	kept, notes, err := resolve(paths)
	if err != nil {
		return r, err
	}
	r.Paths = kept
	r.Notes = append(r.Notes, notes...)
	if r.Supported {
		r.Notes = append(r.Notes, abiNotes(r.ABI)...)
	}
	return r, nil
}

// Restrict confines every thread of the current process, now and later, to
// paths, as [Plan] resolves them. It cannot be undone; a second call
// narrows the first. On a kernel without Landlock it restricts nothing and
// returns a Report with Supported false and no error. An error means the
// process may or may not be restricted; the caller should stop.
func Restrict(paths []Path) (Report, error) {
	r, err := Plan(paths)
	if err != nil || !r.Supported {
		return r, err
	}
	if err := config.RestrictPaths(rules(r.Paths, r.ABI)...); err != nil {
		return r, fmt.Errorf("landlock restrict: %w", err)
	}
	r.Enforced, r.Mode = true, ModeEnforced
	return r, nil
}

// resolve validates paths, drops the missing ones and merges duplicates.
func resolve(paths []Path) (kept []Path, notes []string, err error) {
	const op = "sandbox plan"
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("%s: no paths: refusing to restrict the process to nothing", op)
	}
	index := map[string]int{}
	for _, p := range paths {
		if !filepath.IsAbs(p.Path) {
			return nil, nil, fmt.Errorf("%s: path %q is not absolute", op, p.Path)
		}
		p.Path = filepath.Clean(p.Path)
		// Stat follows symlinks, as Landlock does when it adds a rule.
		fi, err := os.Stat(p.Path)
		if errors.Is(err, fs.ErrNotExist) {
			notes = append(notes, fmt.Sprintf("skipped missing %s (%s)", p.Path, p.Why))
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", op, err)
		}
		p.Dir = fi.IsDir()
		if i, ok := index[p.Path]; ok {
			k := &kept[i]
			k.Access = max(k.Access, p.Access)
			if p.Why != "" && !slices.Contains(strings.Split(k.Why, ", "), p.Why) {
				k.Why += ", " + p.Why
			}
			continue
		}
		index[p.Path] = len(kept)
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return nil, notes, fmt.Errorf("%s: none of the %d paths exists: refusing to restrict the process to nothing", op, len(paths))
	}
	return kept, notes, nil
}

// rules turns resolved paths into Landlock rules for the kernel's ABI.
func rules(paths []Path, abi int) []landlock.Rule {
	out := make([]landlock.Rule, 0, len(paths))
	for _, p := range paths {
		var r landlock.FSRule
		switch {
		case p.Dir && p.Access == Write:
			r = landlock.RWDirs(p.Path)
			// Moves between directories and the journal's hard links need
			// "refer". Asking for it below ABI 2 would make go-landlock
			// enforce nothing at all, so there moves fail instead.
			if abi >= 2 {
				r = r.WithRefer()
			}
		case p.Dir:
			r = landlock.RODirs(p.Path)
		case p.Access == Write:
			r = landlock.RWFiles(p.Path)
		default:
			r = landlock.ROFiles(p.Path)
		}
		out = append(out, r)
	}
	return out
}

// abiNotes names what older kernels cannot do.
func abiNotes(abi int) []string {
	var notes []string
	if abi < 2 {
		notes = append(notes, fmt.Sprintf("ABI %d cannot allow moving or linking files between directories, so such moves fail (ABI 2, Linux 5.19)", abi))
	}
	if abi < 3 {
		notes = append(notes, fmt.Sprintf("ABI %d cannot restrict truncating files (ABI 3, Linux 6.2)", abi))
	}
	return notes
}
