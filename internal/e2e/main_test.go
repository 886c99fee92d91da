package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/cli"
	_ "github.com/warden-dev/warden/internal/connector/all" // as cmd/warden links them
	"github.com/warden-dev/warden/internal/sqltest"
)

// TestMain lets the test binary act as the warden command when re-executed
// with WARDEN_E2E_MAIN=1, so tests drive a real process without a build step.
func TestMain(m *testing.M) {
	if os.Getenv("WARDEN_E2E_MAIN") == "1" {
		ctx, cancel := signalContext()
		code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		cancel()
		os.Exit(code)
	}
	code := m.Run()
	removeBuiltWarden()
	sqltest.StopAll()
	os.Exit(code)
}

// warden returns a command running warden with args in dir.
func warden(t testing.TB, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	return wardenAt(t, os.Args[0], dir, env, args...)
}

// wardenAt is warden run from the binary bin: this test binary, or the
// command built by bigPayloadWarden.
func wardenAt(t testing.TB, bin, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// Under -race, a process sleeps a second at exit unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(append(os.Environ(), "WARDEN_E2E_MAIN=1", "WARDEN_POLICY=", "GORACE="+gorace), env...)
	return cmd
}

// fixture builds a directory tree:
//
//	<T>/sentinel.txt        WARDEN-SENTINEL-OUTSIDE (outside every root)
//	<T>/notes/docs/a.md     hello from a
//	<T>/notes/private/secret.txt  WARDEN-PRIVATE
//	<T>/notes/.env          TOKEN=WARDEN-ENV-VALUE
//	<T>/notes/link-out      -> ../sentinel.txt
//	<T>/notes/link-private  -> private/secret.txt
func fixture(t testing.TB) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "notes")
	files := map[string]string{
		"sentinel.txt":               "WARDEN-SENTINEL-OUTSIDE",
		"notes/docs/a.md":            "hello from a",
		"notes/private/secret.txt":   "WARDEN-PRIVATE",
		"notes/.env":                 "TOKEN=WARDEN-ENV-VALUE",
		"notes/docs/nested/deep.txt": "deep",
	}
	writeFiles(t, base, files)
	for link, target := range map[string]string{"notes/link-out": "../sentinel.txt", "notes/link-private": "private/secret.txt"} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	return base, root
}

// writePolicy writes warden.yaml into dir.
func writePolicy(t testing.TB, dir, src string) string {
	t.Helper()
	p := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// connectStdio starts warden serve over stdio and connects an SDK client.
func connectStdio(t testing.TB, dir string, env []string, opts *mcp.ClientOptions, args ...string) *mcp.ClientSession {
	t.Helper()
	return connectStdioAt(t, os.Args[0], dir, env, opts, args...)
}

// connectStdioAt is connectStdio with warden run from bin.
func connectStdioAt(t testing.TB, bin, dir string, env []string, opts *mcp.ClientOptions, args ...string) *mcp.ClientSession {
	t.Helper()
	cmd := wardenAt(t, bin, dir, env, append([]string{"serve"}, args...)...)
	cmd.Stderr = &testWriter{t: t, prefix: "warden: "}
	return connectCmd(t, cmd, opts)
}

// connectCmd connects an SDK client to a prepared warden serve command.
func connectCmd(t testing.TB, cmd *exec.Cmd, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "v0"}, opts)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to warden serve: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// startHTTP starts warden serve --http on a free loopback port and returns
// its base URL.
func startHTTP(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	return startHTTPAt(t, os.Args[0], dir, env, args...)
}

// startHTTPAt is startHTTP with warden run from bin.
func startHTTPAt(t testing.TB, bin, dir string, env []string, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := wardenAt(t, bin, dir, env, append([]string{"serve", "--http", addr}, args...)...)
	cmd.Stderr = &testWriter{t: t, prefix: "warden: "}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr + "/"
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("warden serve --http %s did not start", addr)
	return ""
}

type testWriter struct {
	t      testing.TB
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}

// callTool calls a tool and returns the result, failing on protocol errors.
func callTool(t testing.TB, cs *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("CallTool(%s, %v): %v", name, args, err)
	}
	return res
}

// text returns the concatenated text content of a result.
func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// firstText returns the first text block of a result: a read's content, as
// it is.
func firstText(res *mcp.CallToolResult) string {
	if len(res.Content) == 0 {
		return ""
	}
	tc, _ := res.Content[0].(*mcp.TextContent)
	if tc == nil {
		return ""
	}
	return tc.Text
}

// structured decodes a result's structured content.
func structured(t testing.TB, res *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	return m
}

// exitCode returns a command's exit code from its error.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// writeFiles creates files (relative path → content) under base, with
// their directories.
func writeFiles(t testing.TB, base string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
