package main

import (
	"crypto/sha256"
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
	rowWrite
	rowEdit
	// The large-result rows, after the first five so that those keep their
	// numbers, names and places in the report.
	rowRead64K
	rowRead1M
	rowList10K
	rowSearch10K
	numRows
)

func (r row) String() string {
	return [...]string{"read-4KiB", "list-1000", "search-1000", "write-4KiB", "edit-4KiB",
		"read-64KiB", "read-1MiB", "list-10000", "search-10000"}[r]
}

// short is the row's name for -rows.
func (r row) short() string {
	return [...]string{"read", "list", "search", "write", "edit", "read64k", "read1m", "list10k", "search10k"}[r]
}

// A call is one tool call of a row for one server, with the check that it
// did the full work. Both take the call's iteration number i, counted from 0
// over the session, so that a row that changes a file can change it on
// every call and check the exact result.
type call struct {
	tool  string
	args  func(i int) map[string]any
	check func(i int, r *mcp.CallToolResult) error
}

// fixed returns the same arguments for every iteration.
func fixed(args map[string]any) func(int) map[string]any {
	return func(int) map[string]any { return args }
}

// A server is one MCP server under test.
type server struct {
	name string
	// command returns a fresh command that starts the server.
	command func() *exec.Cmd
	// env is added to the environment of the long-lived benchmark session
	// only (not the start-up probes), e.g. to switch on a CPU profile.
	env []string
	// plan chooses the calls for each row from the server's tools. A row
	// whose tool the server lacks gets a call with an empty or unknown tool
	// name, which only matters if the row is run (see checkTools).
	plan func(tools []*mcp.Tool) [numRows]call
}

// Server names; each has its own files for the rows that change files.
const (
	nameWarden    = "warden"
	nameFloor     = "floor"
	nameReference = "reference"
)

var serverNames = []string{nameWarden, nameFloor, nameReference}

// cleanEnv is the harness's environment without anything that would make
// Warden load another policy than the one it is given.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "WARDEN_") })
}

// wardenServer runs "warden serve --policy warden.yaml" in the fixture
// root: the directory as resource "files", with the read and write actions
// granted, the audit log on in ./.warden and the undo journal on.
func wardenServer(bin string, fx *fixture, env []string) *server {
	return &server{
		name: nameWarden,
		command: func() *exec.Cmd {
			cmd := exec.Command(bin, "serve", "--policy", fx.policyPath)
			cmd.Dir = fx.root
			cmd.Env = cleanEnv()
			return cmd
		},
		env: env,
		plan: func([]*mcp.Tool) [numRows]call {
			return goCalls(fx, nameWarden, goTools{
				read: "files_read", list: "files_list", search: "files_search",
				write: "files_write", edit: "files_edit",
				paged:      true,
				writeExtra: map[string]any{"mode": "overwrite"},
			})
		},
	}
}

// floorServer runs the bare SDK server on the fixture root.
func floorServer(bin string, fx *fixture) *server {
	return &server{
		name: nameFloor,
		command: func() *exec.Cmd {
			cmd := exec.Command(bin, fx.root)
			cmd.Env = cleanEnv()
			return cmd
		},
		plan: func([]*mcp.Tool) [numRows]call {
			return goCalls(fx, nameFloor, goTools{read: "read", list: "list", search: "search", write: "write", edit: "edit"})
		},
	}
}

// goTools names the tools of Warden or the floor, whose arguments and
// results have the same shape, and the extra arguments Warden needs.
type goTools struct {
	read, list, search, write, edit string
	// paged: the list tool returns pages of at most "limit" entries, so
	// each list call asks for the whole directory, and the search tool
	// stops at "max_results", so the search-10000 call asks for all of its
	// matches. (The search-1000 row's 100 matches are within the default.)
	paged      bool
	writeExtra map[string]any
}

// goCalls plans the calls for Warden or the floor; name picks the server's
// own files for the write and edit rows.
func goCalls(fx *fixture, name string, t goTools) [numRows]call {
	var c [numRows]call
	for r, f := range fx.reads {
		c[r] = call{t.read, fixed(map[string]any{"path": f.path}), func(_ int, res *mcp.CallToolResult) error {
			got, err := readText(res)
			if err != nil {
				return err
			}
			return checkContent(got, f)
		}}
	}
	for r, l := range fx.lists {
		args := map[string]any{"path": l.path}
		if t.paged {
			args["limit"] = l.entries
		}
		c[r] = call{t.list, fixed(args), func(_ int, res *mcp.CallToolResult) error {
			var v struct {
				Entries []struct {
					Path, Type, Modified string
				}
				Truncated  bool
				NextCursor string `json:"next_cursor"`
			}
			if err := decodeText(res, &v); err != nil {
				return err
			}
			if len(v.Entries) != l.entries || v.Truncated || v.NextCursor != "" || v.Entries[0].Modified == "" {
				return fmt.Errorf("list returned %d entries (truncated %v), want all %d", len(v.Entries), v.Truncated, l.entries)
			}
			return nil
		}}
	}
	for r, st := range fx.searches {
		args := map[string]any{"path": st.path, "name": st.glob}
		if t.paged && r == rowSearch10K {
			args["max_results"] = st.matches
		}
		c[r] = call{t.search, fixed(args), func(_ int, res *mcp.CallToolResult) error {
			var v struct {
				Matches   []struct{ Path string }
				Truncated bool
			}
			if err := decodeText(res, &v); err != nil {
				return err
			}
			if len(v.Matches) != st.matches || v.Truncated {
				return fmt.Errorf("search returned %d matches (truncated %v), want %d", len(v.Matches), v.Truncated, st.matches)
			}
			return nil
		}}
	}
	writePath, editPath := fx.writePath(name), fx.editPath(name)
	c[rowWrite] = call{t.write,
		func(i int) map[string]any {
			return with(map[string]any{"path": writePath, "content": writeContent(i)}, t.writeExtra)
		},
		func(i int, r *mcp.CallToolResult) error {
			if _, err := text(r); err != nil {
				return err
			}
			return fx.checkFile(writePath, writeContent(i))
		}}
	c[rowEdit] = call{t.edit,
		func(i int) map[string]any {
			from, to := editStep(i)
			return map[string]any{"path": editPath, "edits": []map[string]any{{"old": from, "new": to}}}
		},
		func(i int, r *mcp.CallToolResult) error {
			var v struct{ Diff string }
			if err := decodeText(r, &v); err != nil {
				return err
			}
			if err := checkDiff(v.Diff, i); err != nil {
				return err
			}
			return fx.checkFile(editPath, editContent(i))
		}}
	return c
}

// with returns args with extra merged in.
func with(args, extra map[string]any) map[string]any {
	for k, v := range extra {
		args[k] = v
	}
	return args
}

// referenceServer runs @modelcontextprotocol/server-filesystem with node,
// allowed the fixture root. listTool names the tool for the list row, or
// "" for the default: list_directory_with_sizes, which stats every entry
// as Warden's list does (list_directory only reads the names).
func referenceServer(node, script string, fx *fixture, listTool string) *server {
	return &server{
		name: nameReference,
		command: func() *exec.Cmd {
			cmd := exec.Command(node, script, fx.root)
			cmd.Dir = fx.root
			cmd.Env = cleanEnv()
			return cmd
		},
		plan: func(tools []*mcp.Tool) [numRows]call {
			var c [numRows]call
			read := firstTool(tools, "read_text_file", "read_file")
			list := firstTool(tools, "list_directory_with_sizes", "list_directory")
			if listTool != "" {
				list = firstTool(tools, listTool)
			}
			search := firstTool(tools, "search_files")
			write := firstTool(tools, "write_file")
			edit := firstTool(tools, "edit_file")
			for r, f := range fx.reads {
				c[r] = call{read, fixed(map[string]any{"path": fx.abs(f.path)}), func(_ int, res *mcp.CallToolResult) error {
					got, err := text(res)
					if err != nil {
						return err
					}
					return checkContent(got, f)
				}}
			}
			for r, l := range fx.lists {
				c[r] = call{list, fixed(map[string]any{"path": fx.abs(l.path)}), func(_ int, res *mcp.CallToolResult) error {
					t, err := text(res)
					if err != nil {
						return err
					}
					if n := countLines(t, func(l string) bool { return strings.HasPrefix(l, "[FILE] ") }); n != l.entries {
						return fmt.Errorf("%s returned %d files, want %d", list, n, l.entries)
					}
					return nil
				}}
			}
			// The reference matches the glob against the path relative to
			// the search directory, so it needs "**/" to look below it.
			for r, st := range fx.searches {
				ext := strings.TrimPrefix(st.glob, "*")
				c[r] = call{search, fixed(map[string]any{"path": fx.abs(st.path), "pattern": "**/" + st.glob}), func(_ int, res *mcp.CallToolResult) error {
					t, err := text(res)
					if err != nil {
						return err
					}
					if n := countLines(t, func(l string) bool { return strings.HasSuffix(l, ext) }); n != st.matches {
						return fmt.Errorf("%s returned %d matches, want %d", search, n, st.matches)
					}
					return nil
				}}
			}
			writePath, editPath := fx.writePath(nameReference), fx.editPath(nameReference)
			c[rowWrite] = call{write,
				func(i int) map[string]any {
					return map[string]any{"path": fx.abs(writePath), "content": writeContent(i)}
				},
				func(i int, r *mcp.CallToolResult) error {
					if _, err := text(r); err != nil {
						return err
					}
					return fx.checkFile(writePath, writeContent(i))
				}}
			c[rowEdit] = call{edit,
				func(i int) map[string]any {
					from, to := editStep(i)
					return map[string]any{"path": fx.abs(editPath), "edits": []map[string]any{{"oldText": from, "newText": to}}, "dryRun": false}
				},
				func(i int, r *mcp.CallToolResult) error {
					t, err := text(r)
					if err != nil {
						return err
					}
					if err := checkDiff(t, i); err != nil {
						return err
					}
					return fx.checkFile(editPath, editContent(i))
				}}
			return c
		},
	}
}

// checkTools reports a row to run whose tool the server does not have.
func checkTools(calls [numRows]call, rows []row, tools []*mcp.Tool) error {
	for _, r := range rows {
		if !hasTool(tools, calls[r].tool) {
			return fmt.Errorf("no tool for %s (want %q) among %v", r, calls[r].tool, toolNames(tools))
		}
	}
	return nil
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

// readText returns the file content of a read result of Warden or the
// floor. It takes both shapes Warden has had: a JSON text block
// {"path", "content", "encoding", "truncated", …}, and the file's text as
// the first block with the metadata as JSON in a second one.
func readText(r *mcp.CallToolResult) (string, error) {
	t, err := text(r)
	if err != nil {
		return "", err
	}
	var v struct {
		Content   *string
		Encoding  string
		Truncated bool
	}
	if json.Unmarshal([]byte(t), &v) == nil && v.Content != nil {
		if v.Encoding != "text" || v.Truncated {
			return "", fmt.Errorf("read returned %d bytes as %s, truncated %v; want the whole file as text", len(*v.Content), v.Encoding, v.Truncated)
		}
		return *v.Content, nil
	}
	if len(r.Content) > 1 {
		if meta, ok := r.Content[1].(*mcp.TextContent); ok && json.Unmarshal([]byte(meta.Text), &v) == nil && v.Truncated {
			return "", fmt.Errorf("read returned %d bytes marked truncated; want the whole file", len(t))
		}
	}
	return t, nil
}

// checkContent reports a read that did not return exactly the file f,
// with the length and SHA-256 of both.
func checkContent(got string, f readFile) error {
	if got == f.content {
		return nil
	}
	return fmt.Errorf("read of %s returned %d bytes (sha256 %.12x), want the whole %d-byte file (sha256 %.12x)",
		f.path, len(got), sha256.Sum256([]byte(got)), len(f.content), sha256.Sum256([]byte(f.content)))
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
