package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Fixture sizes. The issue fixes them: a 4 KiB file, a directory of 1,000
// entries and 1,000 files to search; for the large-result rows, files of
// 64 KiB and 1 MiB, a directory of 10,000 entries and 10,000 files to
// search. The write and edit rows change a file of the same 4 KiB.
const (
	readSize     = 4096
	read64KSize  = 64 << 10
	read1MSize   = 1 << 20
	listEntries  = 1000
	list10K      = 10_000
	searchFiles  = 1000
	search10K    = 10_000
	searchEvery  = 10 // one file in searchEvery is a .md file
	searchFanout = 10 // a tree has searchFanout top directories of searchFanout each
)

// readFile is a text file a read row reads whole.
type readFile struct{ path, content string }

// listDir is a directory of small files a list row lists whole.
type listDir struct {
	path    string
	entries int
}

// searchTree is a tree of small files in searchFanout×searchFanout
// directories that a search row searches by a name glob.
type searchTree struct {
	path    string
	glob    string // a file-name glob
	files   int
	matches int // how many files glob matches
}

// fixture is the directory tree all servers work on. Paths are relative to
// root with "/" between directories.
type fixture struct {
	root       string
	policyPath string // Warden's policy
	reads      map[row]readFile
	lists      map[row]listDir
	searches   map[row]searchTree
}

// abs returns the host path of a fixture path.
func (f *fixture) abs(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

// writePath and editPath are the files server overwrites and edits. Each
// server has its own, in directories the read rows never look at, so no
// server's turn changes what another server or another row works on.
func (f *fixture) writePath(server string) string { return "write/" + server + ".txt" }
func (f *fixture) editPath(server string) string  { return "edit/" + server + ".txt" }

// wardenPolicy is Warden's policy for every row: the fixture root as
// resource "files" with the read and the write actions granted. The audit
// log and the undo journal are on, as by default. The limits let the
// large-result rows get their whole answer in one call: a list page and a
// search of 10,000, a read of 1 MiB (the default, written out), and a
// result of up to 16 MiB (a 10,000-entry list page encodes to about 1 MB).
// No row of the first five comes near a limit, so they do the same work as
// under the default limits.
const wardenPolicy = `# mcpbench: the fixture root, read and written by the only agent.
version: 1
settings:
  limits:
    max_result_bytes: 16MiB
resources:
  files:
    kind: fs
    root: .
    description: the benchmark fixture
    limits:
      max_read_bytes: 1MiB
      max_list_entries: 10000
      max_search_results: 10000
agents:
  default:
    grants:
      - resource: files
        actions: [read, list, search, stat, write, edit]
`

// makeFixture writes the fixture under root, which must not exist yet or be
// empty.
//
//	warden.yaml                      Warden's policy (wardenPolicy)
//	read/file-4k.txt                 4,096 bytes of ASCII text
//	read/file-64k.txt                65,536 bytes of ASCII text
//	read/file-1m.txt                 1,048,576 bytes of ASCII text
//	list/entry-0000.txt ... -0999    1,000 small files
//	list10k/entry-00000.txt ...      10,000 small files
//	search/dA/sB/...                 1,000 small files in 100 directories
//	                                 (10×10), every 10th named note-NNNN.md
//	search10k/dA/sB/file-NNNNN.txt   10,000 small files in 100 directories
//	                                 (10×10), all matched by *.txt
//	write/SERVER.txt                 4,096 bytes, overwritten by the write row
//	edit/SERVER.txt                  4,096 bytes of text, changed by the edit row
func makeFixture(root string) (*fixture, error) {
	f := &fixture{
		root:       root,
		policyPath: "warden.yaml",
		reads: map[row]readFile{
			rowRead:    {"read/file-4k.txt", prose(0, readSize)},
			rowRead64K: {"read/file-64k.txt", prose(0, read64KSize)},
			rowRead1M:  {"read/file-1m.txt", prose(0, read1MSize)},
		},
		lists: map[row]listDir{
			rowList:    {"list", listEntries},
			rowList10K: {"list10k", list10K},
		},
		searches: map[row]searchTree{},
	}
	if err := write(f.abs(f.policyPath), wardenPolicy); err != nil {
		return nil, err
	}
	for _, r := range f.reads {
		if err := write(f.abs(r.path), r.content); err != nil {
			return nil, err
		}
	}
	for _, l := range f.lists {
		digits := len(fmt.Sprint(l.entries)) // 4 for 1,000: entry-0000.txt to entry-0999.txt
		for i := range l.entries {
			if err := write(f.abs(fmt.Sprintf("%s/entry-%0*d.txt", l.path, digits, i)), fmt.Sprintf("entry %d\n", i)); err != nil {
				return nil, err
			}
		}
	}
	var err error
	// One file in searchEvery is a note, the rest plain files.
	if f.searches[rowSearch], err = f.makeTree("search", "*.md", searchFiles, func(i int) string {
		if i%searchEvery == 0 {
			return fmt.Sprintf("note-%04d.md", i)
		}
		return fmt.Sprintf("file-%04d.txt", i)
	}); err != nil {
		return nil, err
	}
	// Every file matches, so the result is as large as the tree.
	if f.searches[rowSearch10K], err = f.makeTree("search10k", "*.txt", search10K, func(i int) string {
		return fmt.Sprintf("file-%05d.txt", i)
	}); err != nil {
		return nil, err
	}
	for _, s := range serverNames {
		if err := write(f.abs(f.writePath(s)), writeContent(-1)); err != nil {
			return nil, err
		}
		if err := write(f.abs(f.editPath(s)), editContent(-1)); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// makeTree writes files small files under dir in searchFanout top
// directories of searchFanout subdirectories each (dA/sB/), file i named
// name(i), and counts those that glob matches.
func (f *fixture) makeTree(dir, glob string, files int, name func(i int) string) (searchTree, error) {
	t := searchTree{path: dir, glob: glob, files: files}
	perTop := files / searchFanout
	for i := range files {
		n := name(i)
		if ok, err := path.Match(glob, n); err != nil {
			return t, fmt.Errorf("fixture: %w", err)
		} else if ok {
			t.matches++
		}
		rel := fmt.Sprintf("%s/d%d/s%d/%s", dir, i/perTop, i%perTop/(perTop/searchFanout), n)
		if err := write(f.abs(rel), fmt.Sprintf("file %d\n", i)); err != nil {
			return t, err
		}
	}
	return t, nil
}

// proseLine is one line of the fixture's text files.
const proseLine = "line %04d: the quick brown fox jumps over the lazy dog, again and again.\n"

// prose returns size bytes of numbered ASCII lines, the first numbered
// first; the last line is cut off at size.
func prose(first, size int) string {
	var b strings.Builder
	for i := first; b.Len() < size; i++ {
		fmt.Fprintf(&b, proseLine, i)
	}
	return b.String()[:size]
}

func write(p, content string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	return nil
}
