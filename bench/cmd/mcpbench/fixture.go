package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Fixture sizes. The issue fixes them: a 4 KiB file, a directory of 1,000
// entries and 1,000 files to search. The write and edit rows change a file
// of the same 4 KiB.
const (
	readSize     = 4096
	listEntries  = 1000
	searchFiles  = 1000
	searchEvery  = 10 // one file in searchEvery is a .md file
	searchFanout = 10 // search/dN/sM holds searchFanout files
)

// fixture is the directory tree all servers work on. Paths are relative to
// root with "/" between directories.
type fixture struct {
	root        string
	policyPath  string // Warden's policy
	readPath    string // the 4 KiB file
	readContent string
	listPath    string // the directory of listEntries files
	searchPath  string // the tree of searchFiles files
	searchGlob  string // a file-name glob
	wantMatches int    // how many files searchGlob matches under searchPath
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
// log and the undo journal are on, as by default.
const wardenPolicy = `# mcpbench: the fixture root, read and written by the only agent.
version: 1
resources:
  files:
    kind: fs
    root: .
    description: the benchmark fixture
agents:
  default:
    grants:
      - resource: files
        actions: [read, list, search, stat, write, edit]
`

// makeFixture writes the fixture under root, which must not exist yet or be
// empty.
//
//	warden.yaml                    Warden's policy (wardenPolicy)
//	read/file-4k.txt               4,096 bytes of ASCII text
//	list/entry-0000.txt ... -0999  1,000 small files
//	search/dA/sB/...               1,000 small files in 100 directories
//	                               (10×10), every 10th named note-NNNN.md
//	write/SERVER.txt               4,096 bytes, overwritten by the write row
//	edit/SERVER.txt                4,096 bytes of text, changed by the edit row
func makeFixture(root string) (*fixture, error) {
	f := &fixture{
		root:       root,
		policyPath: "warden.yaml",
		readPath:   "read/file-4k.txt",
		listPath:   "list",
		searchPath: "search",
		searchGlob: "*.md",
	}
	f.readContent = prose(0, readSize)
	if err := write(f.abs(f.policyPath), wardenPolicy); err != nil {
		return nil, err
	}
	if err := write(f.abs(f.readPath), f.readContent); err != nil {
		return nil, err
	}
	for i := range listEntries {
		if err := write(f.abs(fmt.Sprintf("%s/entry-%04d.txt", f.listPath, i)), fmt.Sprintf("entry %d\n", i)); err != nil {
			return nil, err
		}
	}
	perTop := searchFiles / searchFanout
	for i := range searchFiles {
		name := fmt.Sprintf("file-%04d.txt", i)
		if i%searchEvery == 0 {
			name = fmt.Sprintf("note-%04d.md", i)
			f.wantMatches++
		}
		rel := fmt.Sprintf("%s/d%d/s%d/%s", f.searchPath, i/perTop, i%perTop/searchFanout, name)
		if err := write(f.abs(rel), fmt.Sprintf("file %d\n", i)); err != nil {
			return nil, err
		}
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
