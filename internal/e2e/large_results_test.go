package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// largeText returns exactly n bytes of valid UTF-8 text holding every kind
// of character JSON escapes or a writer could get wrong: quotes,
// backslashes, HTML characters, control characters, the line and
// paragraph separators, multi-byte characters, and strings that look like
// Warden's placeholders (one with a quote before it, as in JSON).
func largeText(n int) string {
	unit := "line \"quoted\" back\\slash <tag> & amp\ttab\r\x01\x1f\u2028\u2029 é 日本 🎉 " +
		"warden-inline:0123456789abcdef0123456789abcdef \"warden-inline:00000000000000000000000000000000\"\n"
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%06d %s", i, unit)
	}
	// Cut after a whole line, so every character is whole, and pad.
	s := b.String()[:n]
	s = s[:strings.LastIndexByte(s, '\n')+1]
	return s + strings.Repeat("x", n-len(s))
}

// TestLargeResults reads 64 KiB and 1 MiB files and lists a directory
// of 1,000 entries through warden serve, over stdio and HTTP, with the
// official Go SDK client: each result arrives whole and exact, the content
// once as the first text block, the metadata beside it, and nothing of
// Warden's placeholders ever reaches the client. Reads run concurrently
// in one session, so that each result gets its own text.
func TestLargeResults(t *testing.T) {
	base := t.TempDir()
	files := map[string]string{}
	for _, n := range []int{64 << 10, 1 << 20} {
		files[fmt.Sprintf("notes/big-%d.txt", n)] = largeText(n)
	}
	for i := range 1000 {
		files[fmt.Sprintf("notes/many/entry-%04d.md", i)] = "x"
	}
	writeFiles(t, base, files)
	writePolicy(t, base, notesPolicy)

	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			var cs *mcp.ClientSession
			if transport == "stdio" {
				cs = connectStdio(t, base, nil, nil)
			} else {
				var err error
				if cs, err = connectHTTP(t, startHTTP(t, base, nil), "", nil); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for name, want := range files {
				if !strings.HasPrefix(name, "notes/big-") {
					continue
				}
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						checkRead(t, cs, strings.TrimPrefix(name, "notes/"), want)
					}()
				}
			}
			wg.Wait()

			res := callTool(t, cs, "notes_list", map[string]any{"path": "many", "limit": 1000})
			if res.IsError || len(res.Content) != 1 || res.StructuredContent != nil {
				t.Fatalf("list: %d blocks, structured %v, error %v: want one text block", len(res.Content), res.StructuredContent != nil, res.IsError)
			}
			var list struct {
				Entries []struct{ Name string }
			}
			if err := json.Unmarshal([]byte(firstText(res)), &list); err != nil || len(list.Entries) != 1000 {
				t.Fatalf("list: %d entries (%v), want 1000", len(list.Entries), err)
			}
		})
	}
	// Nothing was changed by reading.
	for name, want := range files {
		if got, err := os.ReadFile(filepath.Join(base, name)); err != nil || string(got) != want {
			t.Fatalf("%s changed", name)
		}
	}
}

func checkRead(t *testing.T, cs *mcp.ClientSession, path, want string) {
	res := callTool(t, cs, "notes_read", map[string]any{"path": path})
	if res.IsError || len(res.Content) != 2 {
		t.Errorf("read %s: error %v, %d blocks: %.200s", path, res.IsError, len(res.Content), text(res))
		return
	}
	if got := firstText(res); got != want {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Errorf("read %s: %d bytes, want %d; first difference at byte %d: %.80q", path, len(got), len(want), i, got[i:])
		return
	}
	meta, _ := res.Content[1].(*mcp.TextContent)
	var m struct {
		Path, Encoding string
		Size, Length   int
		Content        *string
	}
	if meta == nil || json.Unmarshal([]byte(meta.Text), &m) != nil || m.Path != path || m.Size != len(want) || m.Length != len(want) || m.Encoding != "text" || m.Content != nil {
		t.Errorf("read %s: metadata block %+v", path, res.Content[1])
	}
	if s := structured(t, res); s["path"] != path || s["size"] != float64(len(want)) || s["content"] != nil {
		t.Errorf("read %s: structured content %v, want the metadata only", path, s)
	}
}
