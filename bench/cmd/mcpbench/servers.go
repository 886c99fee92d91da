package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A row is one measured operation.
type row int

const (
	rowRead row = iota
	rowList
	rowSearch
	numRows
)

func (r row) String() string {
	return [...]string{"read-4KiB", "list-1000", "search-1000"}[r]
}

// A call is one tool call of a row for one server, with the check that its
// result did the full work.
type call struct {
	tool  string
	args  map[string]any
	check func(*mcp.CallToolResult) error
}

// A server is one MCP server under test.
type server struct {
	name string
	// command returns a fresh command that starts the server.
	command func() *exec.Cmd
	// env is added to the environment of the long-lived benchmark session
	// only (not the start-up probes), e.g. to switch on a CPU profile.
	env []string
	// plan chooses the calls for each row from the server's tools.
	plan func(tools []*mcp.Tool) ([numRows]call, error)
}

// cleanEnv is the harness's environment without anything that would make
// Warden load a policy file instead of its zero-config default.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WARDEN_") })
}

// wardenServer runs "warden serve" in the fixture root, so it uses the
// zero-config policy: the directory read-only as resource "files", with the
// audit log on in ./.warden.
func wardenServer(bin string, fx *fixture, env []string) *server {
	return &server{
		name: "warden",
		command: func() *exec.Cmd {
			cmd := exec.Command(bin, "serve")
			cmd.Dir = fx.root
			cmd.Env = cleanEnv()
			return cmd
		},
		env: env,
		plan: func(tools []*mcp.Tool) ([numRows]call, error) {
			return goCalls(tools, fx, "files_read", "files_list", "files_search",
				map[string]any{"limit": listEntries})
		},
	}
}

// floorServer runs the bare SDK server on the fixture root.
func floorServer(bin string, fx *fixture) *server {
	return &server{
		name: "floor",
		command: func() *exec.Cmd {
			cmd := exec.Command(bin, fx.root)
			cmd.Env = cleanEnv()
			return cmd
		},
		plan: func(tools []*mcp.Tool) ([numRows]call, error) {
			return goCalls(tools, fx, "read", "list", "search", nil)
		},
	}
}

// goCalls plans the calls for Warden and the floor, whose results have the
// same shape. listExtra is merged into the list arguments.
func goCalls(tools []*mcp.Tool, fx *fixture, read, list, search string, listExtra map[string]any) ([numRows]call, error) {
	var c [numRows]call
	for _, name := range []string{read, list, search} {
		if !hasTool(tools, name) {
			return c, fmt.Errorf("no tool %q among %v", name, toolNames(tools))
		}
	}
	listArgs := map[string]any{"path": fx.listPath}
	for k, v := range listExtra {
		listArgs[k] = v
	}
	c[rowRead] = call{read, map[string]any{"path": fx.readPath}, func(r *mcp.CallToolResult) error {
		var v struct {
			Encoding, Content string
			Truncated         bool
		}
		if err := decodeText(r, &v); err != nil {
			return err
		}
		if v.Encoding != "text" || v.Content != fx.readContent || v.Truncated {
			return fmt.Errorf("read returned %d bytes (%s, truncated %v), want the %d-byte file", len(v.Content), v.Encoding, v.Truncated, readSize)
		}
		return nil
	}}
	c[rowList] = call{list, listArgs, func(r *mcp.CallToolResult) error {
		var v struct {
			Entries []struct {
				Path, Type, Modified string
			}
			Truncated  bool
			NextCursor string `json:"next_cursor"`
		}
		if err := decodeText(r, &v); err != nil {
			return err
		}
		if len(v.Entries) != listEntries || v.Truncated || v.NextCursor != "" || v.Entries[0].Modified == "" {
			return fmt.Errorf("list returned %d entries (truncated %v), want all %d", len(v.Entries), v.Truncated, listEntries)
		}
		return nil
	}}
	c[rowSearch] = call{search, map[string]any{"path": fx.searchPath, "name": fx.searchGlob}, func(r *mcp.CallToolResult) error {
		var v struct {
			Matches   []struct{ Path string }
			Truncated bool
		}
		if err := decodeText(r, &v); err != nil {
			return err
		}
		if len(v.Matches) != fx.wantMatches || v.Truncated {
			return fmt.Errorf("search returned %d matches (truncated %v), want %d", len(v.Matches), v.Truncated, fx.wantMatches)
		}
		return nil
	}}
	return c, nil
}

// referenceServer runs @modelcontextprotocol/server-filesystem with node,
// allowed the fixture root. listTool names the tool for the list row, or
// "" for the default: list_directory_with_sizes, which stats every entry
// as Warden's list does (list_directory only reads the names).
func referenceServer(node, script string, fx *fixture, listTool string) *server {
	return &server{
		name: "reference",
		command: func() *exec.Cmd {
			cmd := exec.Command(node, script, fx.root)
			cmd.Dir = fx.root
			cmd.Env = cleanEnv()
			return cmd
		},
		plan: func(tools []*mcp.Tool) ([numRows]call, error) {
			var c [numRows]call
			read := firstTool(tools, "read_text_file", "read_file")
			list := firstTool(tools, "list_directory_with_sizes", "list_directory")
			if listTool != "" {
				list = firstTool(tools, listTool)
			}
			search := firstTool(tools, "search_files")
			if read == "" || list == "" || search == "" {
				return c, fmt.Errorf("missing a read, list or search tool among %v", toolNames(tools))
			}
			c[rowRead] = call{read, map[string]any{"path": fx.abs(fx.readPath)}, func(r *mcp.CallToolResult) error {
				t, err := text(r)
				if err != nil {
					return err
				}
				if t != fx.readContent {
					return fmt.Errorf("%s returned %d bytes, want the %d-byte file", read, len(t), readSize)
				}
				return nil
			}}
			c[rowList] = call{list, map[string]any{"path": fx.abs(fx.listPath)}, func(r *mcp.CallToolResult) error {
				t, err := text(r)
				if err != nil {
					return err
				}
				if n := countLines(t, func(l string) bool { return strings.HasPrefix(l, "[FILE] ") }); n != listEntries {
					return fmt.Errorf("%s returned %d files, want %d", list, n, listEntries)
				}
				return nil
			}}
			// The reference matches the glob against the path relative to
			// the search directory, so it needs "**/" to look below it.
			c[rowSearch] = call{search, map[string]any{"path": fx.abs(fx.searchPath), "pattern": "**/" + fx.searchGlob}, func(r *mcp.CallToolResult) error {
				t, err := text(r)
				if err != nil {
					return err
				}
				if n := countLines(t, func(l string) bool { return strings.HasSuffix(l, ".md") }); n != fx.wantMatches {
					return fmt.Errorf("%s returned %d matches, want %d", search, n, fx.wantMatches)
				}
				return nil
			}}
			return c, nil
		},
	}
}

func hasTool(tools []*mcp.Tool, name string) bool {
	return slices.ContainsFunc(tools, func(t *mcp.Tool) bool { return t.Name == name })
}

// firstTool returns the first of names that the server has, or "".
func firstTool(tools []*mcp.Tool, names ...string) string {
	for _, n := range names {
		if hasTool(tools, n) {
			return n
		}
	}
	return ""
}

func toolNames(tools []*mcp.Tool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return names
}

// text returns the single text block of a successful result.
func text(r *mcp.CallToolResult) (string, error) {
	if len(r.Content) == 0 {
		return "", errors.New("result has no content")
	}
	tc, ok := r.Content[0].(*mcp.TextContent)
	if !ok {
		return "", fmt.Errorf("result content is %T, want text", r.Content[0])
	}
	if r.IsError {
		return "", fmt.Errorf("tool error: %s", tc.Text)
	}
	return tc.Text, nil
}

// decodeText decodes the JSON text block of a successful result into v.
func decodeText(r *mcp.CallToolResult, v any) error {
	t, err := text(r)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(t), v)
}

func countLines(s string, keep func(string) bool) int {
	n := 0
	for l := range strings.Lines(s) {
		if keep(strings.TrimRight(l, "\n")) {
			n++
		}
	}
	return n
}
