// Package corpus loads the shared attack corpora (paths, SSRF hosts, SQL)
// used by Warden's tests. A corpus is a text file of EXPECT<TAB>PAYLOAD
// lines with block directives and placeholders; the format is described in
// the corpora's README.
//
// The corpora live outside this repository. Dir finds them through
// $WARDEN_CORPORA, else ../shared/corpora beside the module root.
package corpus

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Case is one line of a corpus.
type Case struct {
	Line       int
	Expect     string            // "allow" or "deny"
	Payload    string            // decoded; placeholders not substituted
	Note       string            // "" or "# ..."
	Directives map[string]string // block directives in force, e.g. {"mode": "escape"}
}

// Scenario returns the scenario name of a "SCENARIO:<name>" line, or "".
func (c Case) Scenario() string {
	name, ok := strings.CutPrefix(c.Payload, "SCENARIO:")
	if !ok {
		return ""
	}
	return name
}

// Debatable reports whether the line's label is marked as arguable.
func (c Case) Debatable() bool { return strings.HasPrefix(c.Note, "# debatable") }

// String names the case for test output.
func (c Case) String() string {
	p := c.Payload
	if len(p) > 80 {
		p = p[:80] + "…"
	}
	return fmt.Sprintf("line %d %s %q", c.Line, c.Expect, p)
}

// Dir returns the corpora directory, or "" if it cannot be found.
func Dir() string {
	if d := os.Getenv("WARDEN_CORPORA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(d), "shared", "corpora")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			return ""
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// Load parses a corpus file. It skips the test, loudly, when the corpora
// are not available.
func Load(tb testing.TB, name string) []Case {
	tb.Helper()
	dir := Dir()
	if dir == "" {
		tb.Skipf("SKIPPED: corpus %s not found; set WARDEN_CORPORA to the corpora directory", name)
	}
	cases, err := Parse(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("SKIPPED: corpus %s not found in %s", name, dir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return cases
}

// Parse reads a corpus file.
func Parse(file string) ([]Case, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Case
	dirs := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		ln := sc.Text()
		switch {
		case strings.HasPrefix(ln, "#@ "):
			k, v, _ := strings.Cut(strings.TrimPrefix(ln, "#@ "), ": ")
			dirs[k] = v
			continue
		case ln == "" || strings.HasPrefix(ln, "#"):
			continue
		}
		fields := strings.Split(ln, "\t")
		if len(fields) < 2 || len(fields) > 3 || (fields[0] != "allow" && fields[0] != "deny") {
			return nil, fmt.Errorf("%s:%d: malformed line", file, n)
		}
		p, err := strconv.Unquote(`"` + strings.ReplaceAll(fields[1], `"`, `\"`) + `"`)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, n, err)
		}
		c := Case{Line: n, Expect: fields[0], Payload: p, Directives: maps.Clone(dirs)}
		if len(fields) == 3 {
			c.Note = fields[2]
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// Substitute replaces the placeholders the corpora define ({ROOT},
// {SENTINEL}, ...) with values; other braces are literal.
func Substitute(payload string, values map[string]string) string {
	for k, v := range values {
		payload = strings.ReplaceAll(payload, "{"+k+"}", v)
	}
	return payload
}
