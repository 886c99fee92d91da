package fs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
)

// apiKey is a policy secret (an HTTP resource's key, say) that also sits
// in a file under the root. Its characters occur nowhere else in the
// file, so any search that finds one of its prefixes found the key.
const apiKey = "wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v"

const keyFile = "API_KEY=" + apiKey + "\nNEXT=1\n"

func withSecret(spec *setup) {
	spec.Host.Secrets = []core.Secret{core.NewSecret("env:API_KEY", apiKey)}
}

type windowValue struct {
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
	Length   int    `json:"length"`
}

func readWindow(t *testing.T, c core.Connector, offset, length int) windowValue {
	t.Helper()
	got := do(t, c, "read", args(t, map[string]any{"path": "conf.env", "offset": offset, "length": length}), allVisible)
	if got.Err != nil {
		t.Fatalf("read offset %d length %d: %v", offset, length, got)
	}
	var v windowValue
	if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
		t.Fatal(err)
	}
	if v.Encoding != "text" {
		t.Fatalf("read offset %d: encoding %q", offset, v.Encoding)
	}
	return v
}

// TestRead_SecretInPieces reads the key file in small windows: eight
// reads of four bytes (and every other width) never put the key, or any
// piece of it, together; the bytes around it still read as they are.
func TestRead_SecretInPieces(t *testing.T) {
	_, root := newFixture(t, "conf.env = "+keyFile)
	c := newConnector(t, root, withSecret)
	start := strings.Index(keyFile, apiKey)
	end := start + len(apiKey)

	var all strings.Builder
	for i := range 8 {
		v := readWindow(t, c, start+4*i, 4)
		all.WriteString(v.Content)
		if v.Content != redact.Marker || v.Length != 4 {
			t.Errorf("read offset %d length 4 = %q (length %d), want %q", start+4*i, v.Content, v.Length, redact.Marker)
		}
	}
	if strings.Contains(all.String(), apiKey[:4]) {
		t.Errorf("eight 4-byte reads gave %q", all.String())
	}

	for width := 1; width <= 12; width++ {
		var joined strings.Builder
		for off := 0; off < len(keyFile); off += width {
			v := readWindow(t, c, off, width)
			joined.WriteString(v.Content)
			// The window's bytes outside the key, with one marker where it
			// meets the key.
			hi := min(off+width, len(keyFile))
			want := keyFile[off:hi]
			if off < end && hi > start {
				want = keyFile[off:max(off, start)] + redact.Marker + keyFile[min(hi, end):hi]
			}
			if v.Content != want {
				t.Fatalf("read offset %d length %d = %q, want %q", off, width, v.Content, want)
			}
		}
		// Windows are redacted in context, so not even 4 bytes show.
		for i := 0; i+4 <= len(apiKey); i++ {
			if strings.Contains(joined.String(), apiKey[i:i+4]) {
				t.Fatalf("width %d: the reads together show %q", width, apiKey[i:i+4])
			}
		}
	}

	// A whole read shows the rest of the file.
	if v := readWindow(t, c, 0, 1000); v.Content != "API_KEY="+redact.Marker+"\nNEXT=1\n" {
		t.Errorf("whole read = %q", v.Content)
	}
}

// TestSearch_SecretPrefixes searches for every prefix (and piece) of the
// key: each answer is the answer for text that is not in the file.
func TestSearch_SecretPrefixes(t *testing.T) {
	_, root := newFixture(t, "conf.env = "+keyFile)
	c := newConnector(t, root, withSecret)
	search := func(text string, ignoreCase bool) string {
		t.Helper()
		got := do(t, c, "search", args(t, map[string]any{"path": ".", "text": text, "ignore_case": ignoreCase}), allVisible)
		if got.Err != nil {
			t.Fatalf("search %q: %v", text, got)
		}
		var v struct {
			Matches []json.RawMessage `json:"matches"`
		}
		if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v.Matches)
		return string(b)
	}
	absent := search("absent-text", false)
	if absent != "[]" {
		t.Fatalf("search for absent text = %s", absent)
	}
	for _, ic := range []bool{false, true} {
		for n := 1; n <= len(apiKey); n++ {
			for _, piece := range []string{apiKey[:n], apiKey[len(apiKey)-n:], "API_KEY=" + apiKey[:n], strings.ToUpper(apiKey[:n])} {
				if got := search(piece, ic); got != absent {
					t.Fatalf("search %q (ignore_case %v) = %s, want the answer for absent text %s", piece, ic, got, absent)
				}
			}
		}
	}
	// The line still matches on its other text, and shows the key as a
	// marker.
	if got := search("API_KEY=", false); !strings.Contains(got, `"text":"API_KEY=[REDACTED]"`) {
		t.Errorf("search API_KEY= = %s, want the line with the key redacted", got)
	}
}

// TestEdit_SecretPrefixes: an edit's old text is looked for as a search
// looks, so a dry-run edit answers for a prefix of the key as for absent
// text; and the diff of an edit next to a key that spans lines shows no
// piece of it.
func TestEdit_SecretPrefixes(t *testing.T) {
	const pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END KEY-----"
	content := "a\nb\n" + pem + "\nNEXT=1\n" + keyFile
	_, root := newFixture(t, "conf.env = "+content)
	c := newConnector(t, root, func(spec *setup) {
		spec.Host.Secrets = []core.Secret{core.NewSecret("env:API_KEY", apiKey), core.NewSecret("file:key.pem", pem)}
	})
	absent := do(t, c, "edit", editArgs(t, "conf.env", true, "absent-text", "x"), allVisible)
	if absent.Err == nil || core.ReasonOf(absent.Err) != core.ReasonNoMatch {
		t.Fatalf("edit of absent text = %v", absent)
	}
	for n := 1; n <= len(apiKey); n++ {
		got := do(t, c, "edit", editArgs(t, "conf.env", true, apiKey[:n], "x"), allVisible)
		if got.Err == nil || core.ReasonOf(got.Err) != core.ReasonNoMatch || core.MessageOf(got.Err) != core.MessageOf(absent.Err) {
			t.Fatalf("edit of %q = %v, want the answer for absent text", apiKey[:n], got)
		}
	}
	j := newMemJournal(t)
	got := doWith(t, c, "edit", editArgs(t, "conf.env", false, "NEXT=1\nAPI", "NEXT=2\nAPI"), with{scope: allVisible, journal: j})
	if got.Err != nil {
		t.Fatal(got)
	}
	for _, piece := range []string{"MIIE", "BKcw", "END KEY", apiKey[:4]} {
		if strings.Contains(got.JSON, piece) {
			t.Errorf("edit result shows %q: %s", piece, got.JSON)
		}
	}
	if !strings.Contains(got.JSON, "+NEXT=2") || !strings.Contains(got.JSON, redact.Marker) {
		t.Errorf("edit result = %s, want the change and the key as a marker", got.JSON)
	}
	b, err := os.ReadFile(filepath.Join(root, "conf.env"))
	if err != nil || string(b) != strings.Replace(content, "NEXT=1", "NEXT=2", 1) {
		t.Errorf("file after the edit = %q, %v", b, err)
	}
}
