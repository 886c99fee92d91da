package core

import (
	"context"
	"io/fs"
	"os"
	"time"
)

// Journal keeps what mutating calls replace, so that each call can be
// undone. The engine gives one to connectors through the Invocation of every
// call that may change something; a connector records its changes in it
// before making them.
type Journal interface {
	// Keep preserves the regular file name in the directory dir (an open
	// handle), whose identity is info and whose content hashes to sha256
	// (lower-case hex), before the caller replaces or removes it. What it
	// keeps is durable once Prepare returns. The file must still be the
	// object described by info; Keep fails otherwise. content, if not nil,
	// is the file's whole content as the caller read it from that object:
	// the journal may keep it without reading the file again, once it
	// hashes to sha256.
	Keep(dir *os.File, name string, info fs.FileInfo, sha256 string, content []byte) error
	// Prepare makes what was kept and recorded so far, and next, durable
	// before the caller makes next happen (write-ahead). It runs during,
	// if not nil, meanwhile: the caller's own writing and flushing of what
	// it is about to put in place, so that the journal's flush and the
	// caller's overlap. It fails if during fails. The caller still
	// Records next once it happened. If Prepare fails, nothing may change.
	Prepare(next Change, during func() error) error
	// Links counts the journal's own hard links to the file info
	// describes, whose content hashes to sha256 (a call killed after Keep
	// leaves some). They are no name an agent or a user reaches, so a
	// check for other hard links subtracts them.
	Links(sha256 string, info fs.FileInfo) int
	// Record adds one change to the call's entry. Changes are undone in
	// reverse order.
	Record(c Change)
}

// Change is one effect of a call on one path of a resource.
type Change struct {
	// Op is what happened: "create", "replace", "remove", "mkdir", "move".
	Op string `json:"op"`
	// Path is the resolved path relative to the root; To is the destination
	// of a move.
	Path string `json:"path"`
	To   string `json:"to,omitempty"`
	// Before and After describe the object at Path (for a move: Before at
	// Path, After at To).
	Before ObjectState `json:"before"`
	After  ObjectState `json:"after"`
}

// ObjectState describes a file-system object as the journal remembers it.
// The zero value means "nothing there".
type ObjectState struct {
	// Type is "", "file", "dir" or "symlink".
	Type string `json:"type,omitempty"`
	// Mode is the permission bits.
	Mode fs.FileMode `json:"mode,omitempty"`
	Size int64       `json:"size,omitempty"`
	// SHA256 is the content hash of a file; its content is in the journal
	// when the file was replaced or removed.
	SHA256 string `json:"sha256,omitempty"`
	// Target is a symlink's target.
	Target string `json:"target,omitempty"`
	// Entries is a removed directory's content, by name.
	Entries map[string]ObjectState `json:"entries,omitempty"`
}

// Exists reports whether the state describes an object.
func (s ObjectState) Exists() bool { return s.Type != "" }

// JournalEntry is everything one call changed.
type JournalEntry struct {
	ID       string    `json:"id"` // the call's audit ID
	Time     time.Time `json:"time"`
	Agent    string    `json:"agent"`
	Tool     string    `json:"tool"`
	Resource string    `json:"resource"`
	Changes  []Change  `json:"changes"`
	// Undoes names the entry this one undid, if it is an undo.
	Undoes string `json:"undoes,omitempty"`
}

// Objects opens preserved file contents by hash, for undo.
type Objects interface {
	Open(sha256 string) (*os.File, error)
}

// Undoer is implemented by connectors that can reverse what a journal
// entry records. Undo checks that each path is still in its After state
// and refuses, saying why, unless force is set; it records the changes it
// makes in j, so an undo can be undone too.
type Undoer interface {
	Undo(ctx context.Context, e *JournalEntry, objects Objects, j Journal, force bool) (*Result, error)
}
