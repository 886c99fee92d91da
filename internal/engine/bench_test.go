package engine

import (
	"context"
	"encoding/json"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// BenchmarkCall measures the whole pipeline in process (no MCP transport):
// validation, resolution, decision, execution, result encoding and the
// audit append.
func BenchmarkCall(b *testing.B) {
	dir := b.TempDir()
	root := filepath.Join(dir, "files")
	if err := os.MkdirAll(filepath.Join(root, "many"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "4k.txt"), []byte(strings.Repeat("abcdefgh", 512)), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := os.WriteFile(filepath.Join(root, "many", fmt.Sprintf("f%04d.md", i)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
		// A tree like the MCP benchmark's: 100 directories of 10 files.
		d := filepath.Join(root, "tree", fmt.Sprintf("d%d", i/100), fmt.Sprintf("s%d", i/10%10))
		ext := ".txt"
		if i%10 == 0 {
			ext = ".md"
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d%s", i, ext)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, audit := range []bool{false, true} {
		p, err := policy.Default(root)
		if err != nil {
			b.Fatal(err)
		}
		e, err := New(context.Background(), p, Options{NoState: !audit})
		if err != nil {
			b.Fatal(err)
		}
		for _, bc := range []struct{ name, tool, args string }{
			{"read-4KiB", "files_read", `{"path":"4k.txt"}`},
			{"list-1000", "files_list", `{"path":"many"}`},
			{"search-1000", "files_search", `{"path":"many","name":"*7.md"}`},
			{"search-tree-1000", "files_search", `{"path":"tree","name":"*.md"}`},
		} {
			b.Run(fmt.Sprintf("%s/audit=%v", bc.name, audit), func(b *testing.B) {
				call := core.Call{Agent: policy.DefaultAgent, Tool: bc.tool, Args: json.RawMessage(bc.args)}
				for b.Loop() {
					if out := e.Call(context.Background(), call, CallOptions{}); out.Status != StatusOK {
						b.Fatal(out.Message)
					}
				}
			})
		}
		e.Close()
	}
}

// BenchmarkWalkDirFloor is the unguarded floor of search-tree-1000: a plain
// filepath.WalkDir with the same name match.
func BenchmarkWalkDirFloor(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 1000; i++ {
		d := filepath.Join(dir, fmt.Sprintf("d%d", i/100), fmt.Sprintf("s%d", i/10%10))
		ext := ".txt"
		if i%10 == 0 {
			ext = ".md"
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d%s", i, ext)), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var matches []string
		_ = filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if ok, _ := path.Match("*.md", d.Name()); ok {
					matches = append(matches, p)
				}
			}
			return nil
		})
		if _, err := json.Marshal(matches); err != nil || len(matches) != 100 {
			b.Fatal(len(matches))
		}
	}
}

// BenchmarkWrite measures an overwrite of a 4 KiB file and an edit of one
// through the whole pipeline in process, with the audit log and the undo
// journal on, as in bench/run.sh's write and edit rows.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	body := strings.Repeat("line of text in the file, long enough.\n", 105)[:4096-14]
	if err := os.WriteFile(filepath.Join(dir, "w.txt"), []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "e.txt"), []byte("status: alpha\n"+body), 0o644); err != nil {
		b.Fatal(err)
	}
	pol := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nresources:\n  files: {kind: fs, root: .}\nagents:\n  default:\n    grants:\n      - {resource: files, actions: [read, write, edit]}\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := policy.Load(pol)
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	n := 0
	b.Run("write-4KiB", func(b *testing.B) {
		for b.Loop() {
			n++
			args, _ := json.Marshal(map[string]string{"path": "w.txt", "mode": "overwrite", "content": fmt.Sprintf("write %09d\n", n) + body[:4096-16]})
			call := core.Call{Agent: "default", Tool: "files_write", Args: args}
			if out := e.Call(context.Background(), call, CallOptions{}); out.Status != StatusOK {
				b.Fatal(out.Message)
			}
		}
	})
	from, to := "status: alpha", "status: omega" // the file's state across runs
	b.Run("edit-4KiB", func(b *testing.B) {
		for b.Loop() {
			args, _ := json.Marshal(map[string]any{"path": "e.txt", "edits": []map[string]string{{"old": from, "new": to}}})
			call := core.Call{Agent: "default", Tool: "files_edit", Args: args}
			if out := e.Call(context.Background(), call, CallOptions{}); out.Status != StatusOK {
				b.Fatal(out.Message)
			}
			from, to = to, from
		}
	})
}
