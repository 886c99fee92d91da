package fs_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/core"
)

// readValue mirrors the read result for comparisons.
type readValue struct {
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	Offset     int64  `json:"offset"`
	Length     int    `json:"length"`
	Encoding   string `json:"encoding"`
	Content    string `json:"content"`
	Truncated  bool   `json:"truncated"`
	NextOffset *int64 `json:"next_offset"`
}

func ptr(n int64) *int64 { return &n }

func TestRead_Windows(t *testing.T) {
	_, root := newFixture(t,
		"digits.txt = 0123456789",
		"utf8.txt = aé日本",
		"bad.txt = abc\xff",
		"zero.bin = a\x00b",
		"empty.txt = ",
	)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name           string
		path           string
		offset, length any // nil: omitted
		want           readValue
	}{
		{"whole", "digits.txt", nil, nil, readValue{Size: 10, Length: 10, Encoding: "text", Content: "0123456789"}},
		{"window", "digits.txt", 2, 3, readValue{Size: 10, Offset: 2, Length: 3, Encoding: "text", Content: "234", Truncated: true, NextOffset: ptr(5)}},
		{"to the end", "digits.txt", 7, 3, readValue{Size: 10, Offset: 7, Length: 3, Encoding: "text", Content: "789"}},
		{"past the end", "digits.txt", 8, 100, readValue{Size: 10, Offset: 8, Length: 2, Encoding: "text", Content: "89"}},
		{"at the end", "digits.txt", 10, nil, readValue{Size: 10, Offset: 10, Encoding: "text"}},
		{"beyond the end", "digits.txt", 1 << 40, nil, readValue{Size: 10, Offset: 1 << 40, Encoding: "text"}},
		{"empty file", "empty.txt", nil, nil, readValue{Encoding: "text"}},
		// "aé日本" is 61 c3 a9 e6 97 a5 e6 9c ac.
		{"cut inside é", "utf8.txt", 0, 2, readValue{Size: 9, Length: 1, Encoding: "text", Content: "a", Truncated: true, NextOffset: ptr(1)}},
		{"cut inside 日", "utf8.txt", 0, 4, readValue{Size: 9, Length: 3, Encoding: "text", Content: "aé", Truncated: true, NextOffset: ptr(3)}},
		{"cut inside 本", "utf8.txt", 3, 5, readValue{Size: 9, Offset: 3, Length: 3, Encoding: "text", Content: "日", Truncated: true, NextOffset: ptr(6)}},
		{"only part of a character", "utf8.txt", 1, 1, readValue{Size: 9, Offset: 1, Length: 1, Encoding: "base64", Content: b64([]byte{0xc3}), Truncated: true, NextOffset: ptr(2)}},
		{"starts inside a character", "utf8.txt", 2, 7, readValue{Size: 9, Offset: 2, Length: 7, Encoding: "base64", Content: b64([]byte("aé日本")[2:])}},
		{"invalid at the end", "bad.txt", nil, nil, readValue{Size: 4, Length: 4, Encoding: "base64", Content: b64([]byte("abc\xff"))}},
		{"NUL", "zero.bin", nil, nil, readValue{Size: 3, Length: 3, Encoding: "base64", Content: b64([]byte("a\x00b"))}},
	}
	c := newConnector(t, root)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := map[string]any{"path": tt.path}
			if tt.offset != nil {
				a["offset"] = tt.offset
			}
			if tt.length != nil {
				a["length"] = tt.length
			}
			got := do(t, c, "read", args(t, a), allVisible)
			if got.Err != nil {
				t.Fatalf("read(%v) = %v", a, got)
			}
			var v readValue
			if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
				t.Fatal(err)
			}
			tt.want.Path = tt.path
			if diff := cmp.Diff(tt.want, v); diff != "" {
				t.Errorf("read(%v) mismatch (-want +got):\n%s", a, diff)
			}
			if got.Result.Bytes != int64(v.Length) || got.Result.Truncated != v.Truncated {
				t.Errorf("read(%v) Result.Bytes/Truncated = %d/%v, want %d/%v", a, got.Result.Bytes, got.Result.Truncated, v.Length, v.Truncated)
			}
		})
	}
}

// TestRead_Large reads a 1 MiB window of a 50 MiB sparse file; the read
// must return exactly the window (and, by construction of the reader,
// allocate no more than it).
func TestRead_Large(t *testing.T) {
	_, root := newFixture(t)
	f, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c := newConnector(t, root)
	got := do(t, c, "read", args(t, map[string]any{"path": "big.bin", "offset": 10 << 20, "length": 1 << 20}), allVisible)
	if got.Err != nil {
		t.Fatalf("read(big.bin) = %v", got)
	}
	var v readValue
	if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
		t.Fatal(err)
	}
	if v.Length != 1<<20 || got.Result.Bytes != 1<<20 || v.Size != 50<<20 || v.NextOffset == nil || *v.NextOffset != 11<<20 {
		t.Errorf("read(big.bin, 10 MiB, 1 MiB) = length %d, bytes %d, size %d, next %v; want 1 MiB, 1 MiB, 50 MiB, 11 MiB",
			v.Length, got.Result.Bytes, v.Size, v.NextOffset)
	}
	if v.Encoding != "base64" || base64.StdEncoding.DecodedLen(len(v.Content)) < 1<<20 {
		t.Errorf("read(big.bin) encoding %q with %d content bytes, want 1 MiB of base64", v.Encoding, len(v.Content))
	}
}

func TestRead_Limits(t *testing.T) {
	_, root := newFixture(t, "f.txt = "+strings.Repeat("x", 100))
	c := newConnector(t, root, func(s *setup) { s.Limits.MaxReadBytes = 10 })
	got := do(t, c, "read", pathArgs(t, "f.txt"), allVisible)
	if got.Err != nil || !strings.Contains(got.JSON, `"length":10,`) || !strings.Contains(got.JSON, `"next_offset":10`) {
		t.Errorf("read(f.txt) with MaxReadBytes 10 = %v, want a 10-byte window", got)
	}
	got = do(t, c, "read", args(t, map[string]any{"path": "f.txt", "length": 11}), allVisible)
	if core.KindOf(got.Err) != core.KindInvalid {
		t.Errorf("read(f.txt, length 11) with MaxReadBytes 10 = %v, want KindInvalid", got)
	}
	var schema struct {
		Properties map[string]struct {
			Maximum int64 `json:"maximum"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(c.Operations()[0].InputSchema, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties["length"].Maximum; got != 10 {
		t.Errorf("read schema length maximum = %d, want 10 (the configured limit)", got)
	}
}
