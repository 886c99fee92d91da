package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

var (
	writeSchema = json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}`)
	editSchema  = json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"},"edits":{"type":"array","items":{"type":"object","properties":{"old":{"type":"string"},"new":{"type":"string"}},"required":["old","new"]}}},"required":["path","edits"]}`)
)

// writeResult and editResult have the shape of Warden's results, so the
// floor hashes the new content as Warden does for its result.
type writeResult struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"`
	Size    int64  `json:"size"`
	Created bool   `json:"created"`
	SHA256  string `json:"sha256"`
}

// write replaces or creates a file with the given text, atomically and
// durably (see replace).
func (f *floor) write(args json.RawMessage) (any, error) {
	var a struct {
		Path    string `json:"path"`
		Content string `json:"content"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	created, err := replace(f.abs(a.Path), []byte(a.Content))
	if err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	n := int64(len(a.Content))
	return writeResult{Path: a.Path, Bytes: n, Size: n, Created: created, SHA256: sum(a.Content)}, nil
}

type editResult struct {
	Path    string `json:"path"`
	Diff    string `json:"diff"`
	Applied bool   `json:"applied"`
	SHA256  string `json:"sha256"`
}

// edit applies exact replacements, each of a string that must occur once,
// writes the result as write does, and returns a unified diff.
func (f *floor) edit(args json.RawMessage) (any, error) {
	var a struct {
		Path  string `json:"path"`
		Edits []struct {
			Old string `json:"old"`
			New string `json:"new"`
		} `json:"edits"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	p := f.abs(a.Path)
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	before := string(raw)
	after := before
	for i, e := range a.Edits {
		if n := strings.Count(after, e.Old); n != 1 {
			return nil, fmt.Errorf("edit: edits[%d]: old text occurs %d times, want once", i, n)
		}
		after = strings.Replace(after, e.Old, e.New, 1)
	}
	if _, err := replace(p, []byte(after)); err != nil {
		return nil, fmt.Errorf("edit: %w", err)
	}
	return editResult{Path: a.Path, Diff: udiff.Unified(a.Path, a.Path, before, after), Applied: true, SHA256: sum(after)}, nil
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// replace puts content at p the way a careful writer does: a temporary file
// in the same directory, written and fsynced, renamed over p, and the
// directory fsynced, so a crash leaves the old or the new file, never a
// mix. An existing file's permission bits are kept. It reports whether p
// was created.
func replace(p string, content []byte) (created bool, err error) {
	mode := fs.FileMode(0o644)
	switch fi, err := os.Lstat(p); {
	case err == nil:
		mode = fi.Mode().Perm()
	case errors.Is(err, fs.ErrNotExist):
		created = true
	default:
		return false, err
	}
	dir := filepath.Dir(p)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(content); err != nil {
		return false, err
	}
	if err = tmp.Chmod(mode); err != nil {
		return false, err
	}
	if err = tmp.Sync(); err != nil {
		return false, err
	}
	if err = tmp.Close(); err != nil {
		return false, err
	}
	if err = os.Rename(tmp.Name(), p); err != nil {
		return false, err
	}
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	return created, d.Sync()
}
