package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/warden-dev/warden/internal/connector/fs"
	_ "github.com/warden-dev/warden/internal/connector/httpapi"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// TestCall_SecretInPiecesAcrossResources: an HTTP resource's API key also
// sits in a file under an fs root. Through the whole pipeline, reads of
// four bytes never put it together and a search answers for its prefixes
// as for absent text: the engine hands every connector all the policy's
// secrets, not only its own.
func TestCall_SecretInPiecesAcrossResources(t *testing.T) {
	const key = "wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v"
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "conf.env"), []byte("API_KEY="+key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
resources:
  files: {kind: fs, root: ./files}
  weather:
    kind: http
    base_url: http://127.0.0.1:9/v1/
    allow_private: [127.0.0.1/32]
    auth: {header: X-Api-Key, secret: env:WEATHER_KEY}
agents:
  default:
    grants:
      - {resource: files, actions: [read, search]}
`
	e := openNoState(t, dir, src, policy.WithLookupEnv(func(k string) (string, bool) {
		return key, k == "WEATHER_KEY"
	}))
	run := func(tool string, args map[string]any) string {
		t.Helper()
		a, _ := json.Marshal(args)
		out := e.Call(context.Background(), core.Call{Agent: "default", Tool: tool, Args: a}, CallOptions{})
		if out.Status != StatusOK {
			t.Fatalf("%s %v: %s %s", tool, args, out.Reason, out.Message)
		}
		return string(out.JSON())
	}
	var all strings.Builder
	for i := range 8 {
		all.WriteString(run("files_read", map[string]any{"path": "conf.env", "offset": 8 + 4*i, "length": 4}))
	}
	for i := 0; i+4 <= len(key); i++ {
		if strings.Contains(all.String(), key[i:i+4]) {
			t.Fatalf("eight 4-byte reads show %q: %s", key[i:i+4], all.String())
		}
	}
	if absent := run("files_search", map[string]any{"path": ".", "text": "absent-text"}); !strings.Contains(absent, `"matches":[]`) {
		t.Fatalf("search for absent text = %s", absent)
	}
	for n := 1; n <= len(key); n++ {
		if got := run("files_search", map[string]any{"path": ".", "text": key[:n]}); !strings.Contains(got, `"matches":[]`) {
			t.Fatalf("search %q = %s, want no match, as for absent text", key[:n], got)
		}
	}
}
