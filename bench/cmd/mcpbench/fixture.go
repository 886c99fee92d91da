package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Fixture sizes. The issue fixes them: a 4 KiB file, a directory of 1,000
// entries and 1,000 files to search.
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
	readPath    string // the 4 KiB file
	readContent string
	listPath    string // the directory of listEntries files
	searchPath  string // the tree of searchFiles files
	searchGlob  string // a file-name glob
	wantMatches int    // how many files searchGlob matches under searchPath
}

// abs returns the host path of a fixture path.
func (f *fixture) abs(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

// makeFixture writes the fixture under root, which must not exist yet or be
// empty.
//
//	read/file-4k.txt               4,096 bytes of ASCII text
//	list/entry-0000.txt ... -0999  1,000 small files
//	search/dA/sB/...               1,000 small files in 100 directories
//	                               (10×10), every 10th named note-NNNN.md
func makeFixture(root string) (*fixture, error) {
	f := &fixture{
		root:       root,
		readPath:   "read/file-4k.txt",
		listPath:   "list",
		searchPath: "search",
		searchGlob: "*.md",
	}
	var b strings.Builder
	for i := 0; b.Len() < readSize; i++ {
		fmt.Fprintf(&b, "line %04d: the quick brown fox jumps over the lazy dog, again and again.\n", i)
	}
	f.readContent = b.String()[:readSize]
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
	return f, nil
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
