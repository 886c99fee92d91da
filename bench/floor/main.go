// Command floor is the benchmark's floor: a bare MCP server on the same Go
// SDK as Warden that reads, lists, searches, writes and edits files under
// one directory with no policy, no path checks, no audit log and no undo
// journal. Its writes are atomic and durable as Warden's are (temporary
// file, fsync, rename, fsync of the directory), so that the write rows
// measure what Warden adds to that. Its results have the
// same shape as Warden's (a JSON text block plus the same value as
// structured content), so a call to it does the same file work and the
// same encoding work as a call to Warden, and nothing else.
//
// It is not a server to use: it trusts every path it is given.
//
//	floor ROOT
//
// serves ROOT on stdin/stdout with the tools read, list, search, write and
// edit.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxRead is the longest read, as in Warden's files_read.
const maxRead = 1 << 20

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor ROOT")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(2)
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "floor", Version: "bench"}, &mcp.ServerOptions{
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
	})
	f := &floor{root: root}
	s.AddTool(&mcp.Tool{Name: "read", InputSchema: readSchema}, tool(f.read))
	s.AddTool(&mcp.Tool{Name: "list", InputSchema: listSchema}, tool(f.list))
	s.AddTool(&mcp.Tool{Name: "search", InputSchema: searchSchema}, tool(f.search))
	s.AddTool(&mcp.Tool{Name: "write", InputSchema: writeSchema}, tool(f.write))
	s.AddTool(&mcp.Tool{Name: "edit", InputSchema: editSchema}, tool(f.edit))
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil && !errors.Is(err, mcp.ErrConnectionClosed) {
		fmt.Fprintf(os.Stderr, "floor: %v\n", err)
		os.Exit(1)
	}
}

// The schemas are declared for tools/list but never checked: the floor
// does no validation.
var (
	readSchema   = json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"},"offset":{"type":"integer"},"length":{"type":"integer"}},"required":["path"]}`)
	listSchema   = json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}`)
	searchSchema = json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"},"name":{"type":"string"}},"required":["path","name"]}`)
)

// tool adapts a function from raw arguments to a result value into an MCP
// tool handler that returns the value the way Warden does: encoded once as
// JSON text, and as the Go value for structured content, which the SDK
// encodes with the response. A failure is an IsError result.
func tool(fn func(args json.RawMessage) (any, error)) mcp.ToolHandler {
	return func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		v, err := fn(req.Params.Arguments)
		if err != nil {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: err.Error()}}, IsError: true}, nil
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: string(raw)}},
			StructuredContent: v,
		}, nil
	}
}

type floor struct{ root string }

// abs joins a root-relative slash path to the root, unchecked.
func (f *floor) abs(p string) string { return filepath.Join(f.root, filepath.FromSlash(p)) }

type readResult struct {
	Path      string `json:"path"`
	Size      int64  `json:"size"`
	Offset    int64  `json:"offset"`
	Length    int    `json:"length"`
	Encoding  string `json:"encoding"`
	Content   string `json:"content"`
	Truncated bool   `json:"truncated"`
}

func (f *floor) read(args json.RawMessage) (any, error) {
	var a struct {
		Path   string `json:"path"`
		Offset int64  `json:"offset"`
		Length int64  `json:"length"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if a.Length <= 0 || a.Length > maxRead {
		a.Length = maxRead
	}
	file, err := os.Open(f.abs(a.Path))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	res := readResult{Path: a.Path, Size: fi.Size(), Offset: a.Offset}
	var buf []byte
	if a.Offset < fi.Size() {
		buf = make([]byte, min(a.Length, fi.Size()-a.Offset))
		n, err := file.ReadAt(buf, a.Offset)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read: %w", err)
		}
		buf = buf[:n]
	}
	if bytes.IndexByte(buf, 0) < 0 && utf8.Valid(buf) {
		res.Encoding, res.Content = "text", string(buf)
	} else {
		res.Encoding, res.Content = "base64", base64.StdEncoding.EncodeToString(buf)
	}
	res.Length = len(buf)
	res.Truncated = a.Offset+int64(len(buf)) < fi.Size()
	return res, nil
}

type entry struct {
	Path     string `json:"path"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	Modified string `json:"modified"`
}

type listResult struct {
	Path      string  `json:"path"`
	Entries   []entry `json:"entries"`
	Truncated bool    `json:"truncated"`
}

func (f *floor) list(args json.RawMessage) (any, error) {
	var a struct {
		Path string `json:"path"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	ents, err := os.ReadDir(f.abs(a.Path)) // sorted by name
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	res := listResult{Path: a.Path, Entries: make([]entry, 0, len(ents))}
	for _, e := range ents {
		fi, err := e.Info() // an Lstat, as Warden takes for each entry
		if err != nil {
			continue
		}
		res.Entries = append(res.Entries, entry{
			Path:     path.Join(a.Path, e.Name()),
			Type:     typeName(fi.Mode()),
			Size:     fi.Size(),
			Modified: fi.ModTime().UTC().Format(time.RFC3339),
		})
	}
	return res, nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

type match struct {
	Path string `json:"path"`
}

type searchResult struct {
	Path         string  `json:"path"`
	Matches      []match `json:"matches"`
	FilesScanned int     `json:"files_scanned"`
	Truncated    bool    `json:"truncated"`
}

func (f *floor) search(args json.RawMessage) (any, error) {
	var a struct {
		Path string `json:"path"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	base := f.abs(a.Path)
	res := searchResult{Path: a.Path, Matches: []match{}}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // skip what cannot be read, enter directories
		}
		res.FilesScanned++
		if ok, _ := path.Match(a.Name, d.Name()); ok {
			rel, _ := filepath.Rel(f.root, p)
			res.Matches = append(res.Matches, match{Path: filepath.ToSlash(rel)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}
