package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bigWritePolicy lets one agent write files of up to 16 MiB in ./data.
const bigWritePolicy = `version: 1
settings:
  limits: {max_argument_bytes: 32MiB}
  journal: {max_bytes: 64MiB}
resources:
  data:
    kind: fs
    root: ./data
    limits: {max_write_bytes: 16MiB}
agents:
  writer:
    grants:
      - {resource: data, actions: [read, list, stat, write]}
`

// newBigWriteFixture makes <T>/data and the policy above.
func newBigWriteFixture(t testing.TB) (base, data string) {
	t.Helper()
	base = t.TempDir()
	data = filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, bigWritePolicy)
	return base, data
}

// pattern returns size bytes of 16-byte lines, each the tag and its line
// number: two patterns differ in every line, and any tear, shift or
// truncation breaks byte equality.
func pattern(tag byte, size int) []byte {
	var b bytes.Buffer
	b.Grow(size)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%c%014d\n", tag, i)
	}
	return b.Bytes()[:size]
}

// cliOutput is what warden call and warden undo print.
type cliOutput struct {
	Decision string          `json:"decision"`
	Reason   string          `json:"reason"`
	Message  string          `json:"message"`
	AuditID  string          `json:"audit_id"`
	Result   json.RawMessage `json:"result"`
}

// runWarden runs the real warden in dir and returns its stdout and exit code.
func runWarden(t testing.TB, dir string, stdin []byte, args ...string) (string, int) {
	t.Helper()
	return runWardenAt(t, os.Args[0], dir, stdin, args...)
}

// runWardenAt is runWarden with warden run from bin.
func runWardenAt(t testing.TB, bin, dir string, stdin []byte, args ...string) (string, int) {
	t.Helper()
	cmd := wardenAt(t, bin, dir, nil, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := exitCode(err)
	if code < 0 {
		t.Fatalf("warden %s: %v; stderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Logf("warden %s: stderr: %s", clip(strings.Join(args, " ")), stderr.String())
	}
	return stdout.String(), code
}

// wardenCall runs warden call TOOL with args (JSON-encoded, on stdin) and
// decodes its output.
func wardenCall(t testing.TB, dir, tool string, args any) (cliOutput, int) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	out, code := runWarden(t, dir, raw, "call", tool, "-")
	return decodeCLI(t, out), code
}

func decodeCLI(t testing.TB, out string) cliOutput {
	t.Helper()
	var o cliOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("warden printed %q: %v", clip(out), err)
	}
	return o
}

func clipArgs(args any) string {
	b, _ := json.Marshal(args)
	return clip(string(b))
}

// tempNamesVisible lists, through the real server's list tool, every entry
// of the root that looks like one of Warden's temporary files.
func tempNamesVisible(t testing.TB, dir, tool string) []string {
	t.Helper()
	o, code := wardenCall(t, dir, tool, map[string]any{"path": ".", "recursive": true})
	if code != 0 {
		t.Fatalf("warden call %s: exit %d: %+v", tool, code, o)
	}
	var listing struct {
		Entries []struct {
			Path string `json:"path"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(o.Result, &listing); err != nil || len(listing.Entries) == 0 {
		t.Fatalf("list result %s: %v (want at least one entry)", clip(string(o.Result)), err)
	}
	var tmp []string
	for _, e := range listing.Entries {
		if strings.Contains(e.Path, ".warden-tmp") {
			tmp = append(tmp, e.Path)
		}
	}
	if strings.Contains(string(o.Result), ".warden-tmp") && len(tmp) == 0 {
		tmp = append(tmp, "(in the raw listing) "+clip(string(o.Result)))
	}
	return tmp
}

// tempNamesOnDisk lists Warden's temporary files left in dir.
func tempNamesOnDisk(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".warden-tmp") {
			tmp = append(tmp, e.Name())
		}
	}
	return tmp
}

// tryCall calls a tool without failing the test, for use off the test's
// goroutine.
func tryCall(cs *mcp.ClientSession, name string, args any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
}

// firstDiff returns the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// describeContent names which of the known contents got is, for messages.
func describeContent(got []byte, known map[string][]byte) string {
	for name, want := range known {
		if bytes.Equal(got, want) {
			return name
		}
	}
	var parts []string
	for name, want := range known {
		parts = append(parts, fmt.Sprintf("differs from %s at byte %d", name, firstDiff(got, want)))
	}
	return fmt.Sprintf("torn: %d bytes, %s", len(got), strings.Join(parts, ", "))
}
