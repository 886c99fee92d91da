package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// TestFS_ConcurrentAppends: agents appending to one file at once through
// the whole pipeline (audit log and journal on, so each call's Prepare
// and Execute lie far apart) all succeed, and every line lands once.
func TestFS_ConcurrentAppends(t *testing.T) {
	const writers, each = 8, 8
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(pol, []byte("version: 1\nresources:\n  files: {kind: fs, root: ./files}\nagents:\n  default:\n    grants:\n      - {resource: files, actions: [read, write]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed, want []string
	for g := range writers {
		for i := range each {
			want = append(want, fmt.Sprintf("g%d-%d", g, i))
		}
		wg.Go(func() {
			for i := range each {
				args, _ := json.Marshal(map[string]string{"path": "log.txt", "mode": "append", "content": fmt.Sprintf("g%d-%d\n", g, i)})
				out := e.Call(context.Background(), core.Call{Agent: "default", Tool: "files_write", Args: args}, CallOptions{})
				if out.Status != StatusOK {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s: %s", out.Reason, out.Message))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Errorf("%d of %d appends failed, first: %s", len(failed), writers*each, failed[0])
	}
	b, err := os.ReadFile(filepath.Join(root, "log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("log.txt holds %d lines, want each of %d appends exactly once", len(got), len(want))
	}
}
