package journal

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// encodeEntry writes every entry byte for byte as json.Marshal does,
// whether it takes the direct path or falls back to json.Marshal.
func TestEncodeEntryMatchesEncodingJSON(t *testing.T) {
	sum := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	at := time.Date(2026, 12, 7, 21, 19, 7, 123456789, time.UTC)
	file := core.ObjectState{Type: "file", Mode: 0o644, Size: 4096, SHA256: sum}
	tests := []struct {
		name   string
		ef     entryFile
		direct bool
	}{
		{"replace", entryFile{
			JournalEntry: core.JournalEntry{ID: "01M996XD2770MWD8VEKDHXA8A0", Time: at, Agent: "default", Tool: "files_write", Resource: "files",
				Changes: []core.Change{{Op: "replace", Path: "w.txt", Before: file, After: core.ObjectState{Type: "file", Mode: 0o600, SHA256: sum}}}},
			Objects: map[string]int64{sum: 4096, "00" + sum[2:]: 0}, Inline: map[string]string{sum: "aGVsbG8=", "00" + sum[2:]: ""},
		}, true},
		{"no-changes", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at}}, true},
		{"empty-changes", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at, Changes: []core.Change{}, Undoes: "y"}}, true},
		{"move-symlink", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at.In(time.FixedZone("", -5*3600)), Changes: []core.Change{
			{Op: "move", Path: "a/b", To: "c/d", Before: core.ObjectState{Type: "symlink", Target: "../t"}, After: core.ObjectState{Type: "symlink", Target: "../t"}},
			{Op: "create", Path: "n"},
		}}}, true},
		{"zero-time", entryFile{JournalEntry: core.JournalEntry{ID: "x"}}, true},
		{"escaped-path", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at, Changes: []core.Change{{Op: "create", Path: "café <&> \"q\"\n"}}}}, false},
		{"escaped-agent", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at, Agent: "a\\b"}}, false},
		{"dir-entries", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: at, Changes: []core.Change{
			{Op: "remove", Path: "d", Before: core.ObjectState{Type: "dir", Entries: map[string]core.ObjectState{"f": file}}},
		}}}, false},
		{"tombstone", entryFile{JournalEntry: core.JournalEntry{ID: "x"}, Removed: true}, false},
		{"far-year", entryFile{JournalEntry: core.JournalEntry{ID: "x", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, werr := json.Marshal(&tt.ef)
			got, gerr := encodeEntry(&tt.ef)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("encodeEntry error %v, json.Marshal error %v", gerr, werr)
			}
			if werr == nil && !bytes.Equal(got, append(want, '\n')) {
				t.Errorf("encodeEntry = %s\njson.Marshal = %s", got, want)
			}
			if _, direct := appendEntryJSON(nil, &tt.ef); direct != tt.direct {
				t.Errorf("written directly = %v, want %v", direct, tt.direct)
			}
		})
	}
}
