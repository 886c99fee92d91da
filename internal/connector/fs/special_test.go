package fs_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// TestSpecialFiles: FIFOs, sockets and devices are never read, and never
// block a call.
func TestSpecialFiles(t *testing.T) {
	_, root := newFixture(t, "notes.txt",
		"zero => /dev/zero",
		"zero2 => ../../../../../../../../../../dev/zero",
	)
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	mustBuild(t, root, "fifolink => fifo")
	sock := filepath.Join(root, "sock")
	if l, err := net.Listen("unix", sock); err != nil {
		t.Logf("no unix socket here: %v", err)
	} else {
		t.Cleanup(func() { l.Close() })
	}
	// A character device (like /dev/null) only if mknod works here.
	hasDevice := syscall.Mknod(filepath.Join(root, "dev"), syscall.S_IFCHR|0o666, 1<<8|3) == nil
	c := newConnector(t, root)

	tests := []struct {
		name, path string
		reason     core.Reason
		skip       bool
	}{
		{"fifo", "fifo", core.ReasonNotRegularFile, false},
		{"link to fifo", "fifolink", core.ReasonNotRegularFile, false},
		{"socket", "sock", core.ReasonNotRegularFile, !exists(sock)},
		{"device", "dev", core.ReasonNotRegularFile, !hasDevice},
		{"absolute link to /dev/zero", "zero", core.ReasonPathEscapes, false},
		{"relative link to /dev/zero", "zero2", core.ReasonPathEscapes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("not available here")
			}
			start := time.Now()
			got := doWithin(t, 5*time.Second, c, "read", pathArgs(t, tt.path))
			if d := time.Since(start); d > time.Second {
				t.Errorf("read(%q) took %v", tt.path, d)
			}
			if got.Err == nil || core.ReasonOf(got.Err) != tt.reason {
				t.Errorf("read(%q) = %v, want reason %s", tt.path, got, tt.reason)
			}
		})
	}

	t.Run("stat fifo", func(t *testing.T) {
		got := doWithin(t, 5*time.Second, c, "stat", pathArgs(t, "fifo"))
		if got.Err != nil || !strings.Contains(got.JSON, `"type":"other"`) {
			t.Errorf("stat(fifo) = %v, want type other", got)
		}
	})
	t.Run("search skips special files", func(t *testing.T) {
		got := doWithin(t, 5*time.Second, c, "search", args(t, map[string]any{"path": ".", "text": "WARDEN"}))
		if got.Err != nil {
			t.Fatalf("search = %v", got)
		}
		if !strings.Contains(got.JSON, `"path":"notes.txt"`) || strings.Contains(got.JSON, "fifo") || strings.Contains(got.JSON, "zero") {
			t.Errorf("search = %v, want only notes.txt", got)
		}
	})
	t.Run("list shows special files", func(t *testing.T) {
		got := doWithin(t, 5*time.Second, c, "list", pathArgs(t, "."))
		if got.Err != nil || !strings.Contains(got.JSON, `{"path":"fifo","type":"other"`) || !strings.Contains(got.JSON, `{"path":"zero","type":"symlink"`) {
			t.Errorf("list = %v, want fifo as other and zero as symlink", got)
		}
	})
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
