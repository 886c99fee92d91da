package fs

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// Operation names. Tools are named "<resource>_<op>".
const (
	OpRead   = "read"
	OpList   = "list"
	OpSearch = "search"
	OpStat   = "stat"
	OpWrite  = "write"
	OpEdit   = "edit"
	OpMkdir  = "mkdir"
	OpMove   = "move"
	OpDelete = "delete"
)

// maxEdits bounds the edits of one edit call.
const maxEdits = 100

// operations builds the tool descriptions for a resource. The schemas
// carry the resource's limits, so the model sees the real bounds.
func operations(resource string, l Limits) []core.Operation {
	r := quote(resource)
	pathDesc := func(what string) string {
		return jsonText(what + ` relative to the root of the "` + resource + `" resource, with "/" between directories, e.g. "docs/plan.md"; "." is the root itself. Absolute paths, ".." above the root, drive letters and backslash separators are refused.`)
	}
	schema := func(props, required string) json.RawMessage {
		s := `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {` + props + `
  },
  "required": [` + required + `],
  "additionalProperties": false
}`
		if !json.Valid([]byte(s)) {
			panic("fs: invalid input schema: " + s)
		}
		return json.RawMessage(s)
	}
	pathProp := func(what string) string {
		return `
    "path": {"type": "string", "maxLength": 4096, "description": ` + pathDesc(what) + `}`
	}
	ops := []core.Operation{
		{
			Name:    OpRead,
			Action:  "read",
			Summary: fmt.Sprintf("Read part or all of a file in %s. Text comes back as UTF-8, other data as base64; a long file is read in windows, continuing at next_offset.", r),
			InputSchema: schema(pathProp("The file to read,")+`,
    "offset": {"type": "integer", "minimum": 0, "default": 0, "description": "Byte offset to start reading at. To continue a long file, pass the next_offset of the previous result."},
    "length": {"type": "integer", "minimum": 1, "maximum": `+fmt.Sprint(l.MaxReadBytes)+`, "default": `+fmt.Sprint(l.MaxReadBytes)+`, "description": "Most bytes to return. A text result may be a few bytes shorter so that it ends on a whole character."}`,
				`"path"`),
			ReadOnly: true,
		},
		{
			Name:    OpList,
			Action:  "list",
			Summary: fmt.Sprintf("List a directory in %s, one page at a time, sorted by path. Symbolic links are shown but not followed.", r),
			InputSchema: schema(pathProp("The directory to list,")+`,
    "recursive": {"type": "boolean", "default": false, "description": "Also list everything below the directory, depth-first."},
    "cursor": {"type": "string", "maxLength": 8192, "description": "The next_cursor of the previous page, to continue the listing. Omit it for the first page."},
    "limit": {"type": "integer", "minimum": 1, "maximum": `+fmt.Sprint(l.MaxListEntries)+`, "default": `+fmt.Sprint(l.MaxListEntries)+`, "description": "Most entries to return in this page."}`,
				`"path"`),
			ReadOnly: true,
		},
		{
			Name:    OpSearch,
			Action:  "search",
			Summary: fmt.Sprintf("Find files in %s under a directory by name pattern, by text they contain, or both. Symbolic links are skipped.", r),
			InputSchema: schema(pathProp("The directory to search under,")+`,
    "name": {"type": "string", "minLength": 1, "maxLength": 255, "description": "Glob matched against file names only (not directories in the path), e.g. \"*.md\" or \"report-202?.txt\"; * matches any run of characters, ? one character, [abc] one of a set. At least one of name and text is required."},
    "text": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "Text to find inside files, matched line by line as a plain substring (no regular expressions). Binary files and very large files are skipped. At least one of name and text is required."},
    "ignore_case": {"type": "boolean", "default": false, "description": "Match name and text without regard to letter case."},
    "max_results": {"type": "integer", "minimum": 1, "maximum": `+fmt.Sprint(l.MaxSearchResults)+`, "default": `+fmt.Sprint(l.MaxSearchResults)+`, "description": "Most matches to return."}`,
				`"path"`),
			ReadOnly: true,
		},
		{
			Name:        OpStat,
			Action:      "stat",
			Summary:     fmt.Sprintf("Show the type, size, permissions and modification time of a file or directory in %s, after following symbolic links.", r),
			InputSchema: schema(pathProp("The file or directory,"), `"path"`),
			ReadOnly:    true,
		},
		{
			Name:    OpWrite,
			Action:  "write",
			Summary: fmt.Sprintf("Create a file in %s, or replace or append to one, atomically: readers see the old or the new content, never a mix. The change can be undone.", r),
			InputSchema: schema(pathProp("The file to write,")+`,
    "content": {"type": "string", "description": "The content: UTF-8 text, or base64 when encoding is \"base64\". At most `+fmt.Sprint(l.MaxWriteBytes)+` bytes after decoding; with mode \"append\" the whole file must stay within that."},
    "encoding": {"type": "string", "enum": ["text", "base64"], "default": "text", "description": "How content is encoded."},
    "mode": {"type": "string", "enum": ["create", "overwrite", "append"], "default": "create", "description": "create fails if the file exists; overwrite replaces it (or creates it); append adds content at its end (or creates it)."}`,
				`"path", "content"`),
		},
		{
			Name:    OpEdit,
			Action:  "edit",
			Summary: fmt.Sprintf("Replace exact text in a UTF-8 text file in %s and show the change as a unified diff. Each edit's old text must occur exactly once in the file as the edits before it left it. The change can be undone.", r),
			InputSchema: schema(pathProp("The file to edit,")+`,
    "edits": {"type": "array", "minItems": 1, "maxItems": `+fmt.Sprint(maxEdits)+`, "description": "Replacements, applied in order.", "items": {
      "type": "object",
      "properties": {
        "old": {"type": "string", "minLength": 1, "description": "Text to replace; it must occur exactly once. Include enough surrounding text to make it unique."},
        "new": {"type": "string", "description": "Text to put in its place."}
      },
      "required": ["old", "new"],
      "additionalProperties": false
    }},
    "dry_run": {"type": "boolean", "default": false, "description": "Only show the diff; change nothing."}`,
				`"path", "edits"`),
		},
		{
			Name:    OpMkdir,
			Action:  "mkdir",
			Summary: fmt.Sprintf("Create a directory in %s. The change can be undone.", r),
			InputSchema: schema(pathProp("The directory to create,")+`,
    "parents": {"type": "boolean", "default": false, "description": "Also create missing parent directories, and succeed if the directory exists (like mkdir -p)."}`,
				`"path"`),
		},
		{
			Name:    OpMove,
			Action:  "move",
			Summary: fmt.Sprintf("Move or rename a file or directory within %s. The change can be undone.", r),
			InputSchema: schema(`
    "from": {"type": "string", "maxLength": 4096, "description": `+pathDesc("The file or directory to move,")+`},
    "to": {"type": "string", "maxLength": 4096, "description": `+pathDesc("Its new path (not an existing directory to move it into),")+`},
    "overwrite": {"type": "boolean", "default": false, "description": "Replace a file that exists at to. A directory is never replaced."}`,
				`"from", "to"`),
		},
		{
			Name:    OpDelete,
			Action:  "delete",
			Summary: fmt.Sprintf("Delete a file or an empty directory in %s; with recursive, a directory and everything in it, if the grant allows recursive deletion. The change can be undone.", r),
			InputSchema: schema(pathProp("The file or directory to delete,")+`,
    "recursive": {"type": "boolean", "default": false, "description": "Delete a directory with everything in it. Needs a grant with recursive: true."}`,
				`"path"`),
		},
	}
	// What a call does is its path (or, for a move, both paths): kept
	// whole in the audit record, quoted to approvers and in denials.
	for i := range ops {
		if ops[i].Name == OpMove {
			ops[i].KeyArgs = []string{"from", "to"}
			continue
		}
		ops[i].KeyArgs, ops[i].TargetArg = []string{"path"}, "path"
	}
	return ops

}

// jsonText returns s as a JSON string literal.
func jsonText(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return strings.TrimSpace(string(b))
}
