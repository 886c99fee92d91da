package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestWriteConcurrent_TwoClients has two MCP clients overwrite the same file
// with distinct 2 MiB patterns, many times at once, while the test reads the
// file from disk in a loop: every read, and the end state, must be exactly
// one of the patterns. It runs with two warden processes (stdio) and with
// two sessions of one HTTP server.
func TestWriteConcurrent_TwoClients(t *testing.T) {
	const size = 2 << 20
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	contents := map[string][]byte{"A": pattern('A', size), "B": pattern('B', size)}
	bin := bigPayloadWarden(t)
	// Encoded once: under -race, encoding megabytes per call dominates.
	args := map[string]json.RawMessage{}
	for name, c := range contents {
		raw, err := json.Marshal(map[string]any{"path": "shared.txt", "content": string(c), "mode": "overwrite"})
		if err != nil {
			t.Fatal(err)
		}
		args[name] = raw
	}
	for _, transport := range []string{"two-processes", "one-http-server"} {
		t.Run(transport, func(t *testing.T) {
			base, data := newBigWriteFixture(t)
			target := filepath.Join(data, "shared.txt")
			if err := os.WriteFile(target, contents["A"], 0o644); err != nil {
				t.Fatal(err)
			}
			var clients [2]*mcp.ClientSession
			if transport == "two-processes" {
				clients[0] = connectStdioAt(t, bin, base, nil, nil)
				clients[1] = connectStdioAt(t, bin, base, nil, nil)
			} else {
				url := startHTTPAt(t, bin, base, nil)
				for i := range clients {
					cs, err := connectHTTP(t, url, "", nil)
					if err != nil {
						t.Fatal(err)
					}
					clients[i] = cs
				}
			}

			var stop atomic.Bool
			var reads atomic.Int64
			torn := make(chan string, 1)
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				for !stop.Load() {
					got, err := os.ReadFile(target)
					if err != nil {
						select {
						case torn <- "the file vanished: " + err.Error():
						default:
						}
						return
					}
					if !bytes.Equal(got, contents["A"]) && !bytes.Equal(got, contents["B"]) {
						select {
						case torn <- describeContent(got, contents):
						default:
						}
						return
					}
					reads.Add(1)
					time.Sleep(time.Millisecond) // leave the writers some CPU
				}
			}()

			type tally struct {
				ok      int
				refused map[string]int
				err     error
			}
			var tallies [2]tally
			var wg sync.WaitGroup
			for i, name := range []string{"A", "B"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tl := &tallies[i]
					tl.refused = map[string]int{}
					for range rounds {
						res, err := tryCall(clients[i], "data_write", args[name])
						if err != nil {
							tl.err = err
							return
						}
						if res.IsError {
							m, _ := res.StructuredContent.(map[string]any)
							r, _ := m["reason"].(string)
							tl.refused[r]++
							continue
						}
						tl.ok++
					}
				}()
			}
			wg.Wait()
			stop.Store(true)
			<-readerDone
			select {
			case msg := <-torn:
				t.Errorf("a reader saw the file %s", msg)
			default:
			}
			for i, tl := range tallies {
				if tl.err != nil {
					t.Errorf("client %d: %v", i, tl.err)
				}
				t.Logf("client %d: %d writes ok, refused %v", i, tl.ok, tl.refused)
				if tl.ok == 0 {
					t.Errorf("client %d: no write succeeded (refused %v)", i, tl.refused)
				}
				// Warden's own writers take turns: none may be refused,
				// not even with target-changed, which is kept for changes
				// made outside Warden.
				if len(tl.refused) > 0 {
					t.Errorf("client %d: concurrent writes refused %v; Warden's own writers must take turns", i, tl.refused)
				}
			}
			t.Logf("%d reads from disk during the writes", reads.Load())
			got, err := os.ReadFile(target)
			if err != nil || (!bytes.Equal(got, contents["A"]) && !bytes.Equal(got, contents["B"])) {
				t.Errorf("after the writes the file is %s (%v)", describeContent(got, contents), err)
			}
			if tmp := tempNamesVisible(t, base, "data_list"); len(tmp) > 0 {
				t.Errorf("files_list shows temporary files after the writes: %q", tmp)
			}
			if out, code := runWarden(t, base, nil, "audit", "verify"); code != 0 {
				t.Errorf("audit verify: exit %d: %s", code, out)
			}
		})
	}
}
