package audit

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/redact"
)

// keepSQL keeps the statement inline, as the engine does.
func keepSQL(k string) bool { return k == "sql" || k == "method" || k == "path" }

// bigArgs are arguments over InlineArgsBytes: a long statement, a long
// content holding a secret, and a JSON body.
func bigArgs(t *testing.T, secret string) (json.RawMessage, string, string) {
	t.Helper()
	sql := "UPDATE orders SET note = 'x' /* " + strings.Repeat("padding ", 150) + "*/, customer_id = 42 WHERE id = 5"
	content := strings.Repeat("line of text\n", 100) + "token=" + secret + "\n"
	args, err := json.Marshal(map[string]any{
		"sql": sql, "content": content, "body": map[string]any{"items": strings.Split(strings.Repeat("item ", 100), " ")},
		"mode": "overwrite",
	})
	if err != nil {
		t.Fatal(err)
	}
	return args, sql, content
}

func TestSplitArgsStoresLongValuesAsBlobs(t *testing.T) {
	const secret = "s3cr3t-api-key-value"
	dir := t.TempDir()
	l := newLog(t, dir, Options{Redactor: redact.New(secret)})
	args, sql, content := bigArgs(t, secret)

	inline, blobs, err := l.SplitArgs(args, keepSQL)
	if err != nil {
		t.Fatalf("SplitArgs: %v", err)
	}
	if len(blobs) != 2 {
		t.Fatalf("blobs = %+v, want content and body", blobs)
	}
	var in map[string]any
	if err := json.Unmarshal(inline, &in); err != nil {
		t.Fatal(err)
	}
	if in["sql"] != sql {
		t.Errorf("the statement was not kept whole inline: %v", in["sql"])
	}
	if in["mode"] != "overwrite" {
		t.Errorf("short value not kept inline: %v", in["mode"])
	}
	if strings.Contains(string(inline), "line of text") {
		t.Errorf("content left inline: %s", inline)
	}

	stored := mustAppend(t, l, &Record{Event: "call", Args: inline, Blobs: blobs})
	if len(stored.Blobs) != 2 {
		t.Fatalf("stored record blobs = %+v", stored.Blobs)
	}
	// Every stored file is redacted.
	err = filepath.Walk(filepath.Join(dir, BlobDir), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", p, fi.Mode().Perm())
		}
		if b := readFile(t, p); strings.Contains(string(b), secret) {
			t.Errorf("blob %s holds the secret in clear", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	full, err := ExpandArgs(dir, stored.Args, stored.Blobs)
	if err != nil {
		t.Fatalf("ExpandArgs: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(full, &got); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(content, secret, redact.Marker)
	if got["content"] != want || got["sql"] != sql {
		t.Errorf("expanded arguments differ:\n%s", full)
	}
	if _, ok := got["body"].(map[string]any); !ok {
		t.Errorf("body not restored as JSON: %v", got["body"])
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}

func TestSplitArgsKeepsSmallArgumentsWhole(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	args := json.RawMessage(`{"path":"a.txt","content":"` + strings.Repeat("x", 900) + `"}`)
	inline, blobs, err := l.SplitArgs(args, keepSQL)
	if err != nil || len(blobs) != 0 || string(inline) != string(args) {
		t.Fatalf("SplitArgs(small) = %s, %v, %v; want the arguments unchanged", inline, blobs, err)
	}
}

func TestSplitArgsHugeInlinePartGoesWhole(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	// Many short values: none is long, but together they are.
	m := map[string]string{}
	for i := range 60000 {
		m[strings.Repeat("k", 3)+string(rune('a'+i%26))+strings.Repeat("0", i%7)+"_"+itoa(i)] = "short value"
	}
	args, _ := json.Marshal(m)
	inline, blobs, err := l.SplitArgs(args, keepSQL)
	if err != nil {
		t.Fatal(err)
	}
	if inline != nil || len(blobs) != 1 || blobs[0].Pointer != "" {
		t.Fatalf("SplitArgs(%d bytes) = %d inline bytes, %+v; want one blob of the whole", len(args), len(inline), blobs)
	}
	full, err := ExpandArgs(dir, inline, blobs)
	if err != nil || string(full) != string(args) {
		t.Fatalf("ExpandArgs = %d bytes, %v; want the arguments back", len(full), err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestVerifyFailsOnAlteredOrMissingBlob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   error
	}{
		{"altered", func(t *testing.T, p string) {
			b := readFile(t, p)
			b[0] ^= 1
			writeFile(t, p, b)
		}, ErrBlobAltered},
		{"grown", func(t *testing.T, p string) { writeFile(t, p, append(readFile(t, p), 'x')) }, ErrBlobAltered},
		{"missing", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, ErrBlobMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLog(t, dir, Options{})
			args, _, _ := bigArgs(t, "unused-secret")
			mustAppend(t, l, callRecord(0))
			inline, blobs, err := l.SplitArgs(args, keepSQL)
			if err != nil {
				t.Fatal(err)
			}
			rec := mustAppend(t, l, &Record{Event: "call", Args: inline, Blobs: blobs})
			mustAppend(t, l, callRecord(2))
			wantOK(t, mustVerify(t, dir, VerifyOptions{}))

			p, _ := blobPath(dir, blobs[0].SHA256)
			tc.damage(t, p)
			rep := mustVerify(t, dir, VerifyOptions{})
			if rep.OK || rep.Line != 2 || rep.Seq != 2 || !strings.Contains(rep.Problem, rec.ID) {
				t.Fatalf("Verify after the blob was %s = %+v; want a failure at line 2 naming record %s", tc.name, rep, rec.ID)
			}
			if _, err := ExpandArgs(dir, rec.Args, rec.Blobs); !errors.Is(err, tc.want) {
				t.Errorf("ExpandArgs error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBlobPathRefusesForgedNames(t *testing.T) {
	for _, sum := range []string{"../../etc/passwd", "", strings.Repeat("A", 64), strings.Repeat("a", 63) + "/"} {
		if _, err := ReadBlob(t.TempDir(), Blob{SHA256: sum, Bytes: 1}); err == nil {
			t.Errorf("ReadBlob(%q) succeeded", sum)
		}
	}
}

// With SyncInterval, blobs are flushed by the log's flush, before the log:
// a blob that cannot be flushed stops the flush, so no record reaches the
// disk ahead of its blob.
func TestSyncIntervalFlushesBlobsWithTheLog(t *testing.T) {
	for _, lose := range []bool{false, true} {
		dir := t.TempDir()
		l, err := Open(dir, Options{SyncEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		args, _, _ := bigArgs(t, "unused-secret")
		inline, blobs, err := l.SplitArgs(args, keepSQL)
		if err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, &Record{Event: "call", Args: inline, Blobs: blobs})
		if len(l.blobs.paths) == 0 {
			t.Fatal("no blob waits for the log's flush")
		}
		if lose {
			p, _ := blobPath(dir, blobs[0].SHA256)
			os.Remove(p)
		}
		err = l.Close()
		if lose != (err != nil) {
			t.Errorf("Close with the blob lost=%v: %v", lose, err)
		}
		if !lose && len(l.blobs.paths) != 0 {
			t.Errorf("%d blob paths left unflushed after Close", len(l.blobs.paths))
		}
	}
}

func TestSyncAlwaysFlushesBlobsAtOnce(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{Sync: SyncAlways})
	args, _, _ := bigArgs(t, "unused-secret")
	_, blobs, err := l.SplitArgs(args, keepSQL)
	if err != nil || len(blobs) == 0 {
		t.Fatalf("SplitArgs: %v, %d blobs", err, len(blobs))
	}
	if len(l.blobs.paths) != 0 {
		t.Errorf("SyncAlways left %d paths to flush later", len(l.blobs.paths))
	}
	for _, b := range blobs {
		if _, err := ReadBlob(dir, b); err != nil {
			t.Error(err)
		}
	}
}

// SplitDecoded, which scans the arguments instead of parsing them, stores
// exactly what SplitArgs stores, whatever the spacing, nesting and kinds of
// the values.
func TestSplitDecodedMatchesSplitArgs(t *testing.T) {
	long := strings.Repeat("line of text \"quoted\" \\ <&>\n", 20)
	docs := []string{
		`{"path":"a.txt","content":` + quoteJSON(long) + `,"mode":"overwrite"}`,
		" {\n \"content\" : " + quoteJSON(long) + " ,\t\"n\": -1.5e3 , \"ok\":true,\"none\":null }\n",
		`{"edits":[` + strings.Repeat(`{"old":"a]}","new":"b{["},`, 30) + `{"old":"x","new":"y"}],"path":"e.txt"}`,
		`{"body":{"items":[1,2,3,{"deep":[[],{}]}],"text":` + quoteJSON(long) + `},"n":12345678901234567890,"sql":` + quoteJSON(long) + `}`,
		`{"k\u00e9y":` + quoteJSON(long) + `}`, // a key to unescape: parsed instead
		`{"content":` + quoteJSON(long) + `,"z":0}`,
	}
	for i, doc := range docs {
		var values map[string]any
		if err := json.Unmarshal([]byte(doc), &values); err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
		if scanned := topMembers([]byte(doc), len(values)) != nil; scanned != !strings.Contains(doc, `\u00e9`) {
			t.Errorf("doc %d: scanned = %v", i, scanned)
		}
		a := newLog(t, t.TempDir(), Options{Redactor: redact.New("quoted")})
		b := newLog(t, t.TempDir(), Options{Redactor: redact.New("quoted")})
		wantInline, wantBlobs, err := a.SplitArgs(json.RawMessage(doc), keepSQL)
		if err != nil {
			t.Fatalf("doc %d: SplitArgs: %v", i, err)
		}
		inline, blobs, err := b.SplitDecoded(json.RawMessage(doc), values, keepSQL)
		if err != nil {
			t.Fatalf("doc %d: SplitDecoded: %v", i, err)
		}
		if string(inline) != string(wantInline) {
			t.Errorf("doc %d: SplitDecoded inline\n%s\nwant\n%s", i, inline, wantInline)
		}
		if !slices.Equal(blobs, wantBlobs) {
			t.Errorf("doc %d: SplitDecoded blobs %+v, want %+v", i, blobs, wantBlobs)
		}
	}
}

func quoteJSON(s string) string { b, _ := json.Marshal(s); return string(b) }

// A blob directory removed after a blob was written there is made again
// for the next blob, not assumed to exist.
func TestSplitArgsRemakesARemovedBlobDirectory(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{Sync: SyncAlways})
	for i := range 2 {
		args, _, _ := bigArgs(t, "unused-secret")
		_, blobs, err := l.SplitArgs(args, keepSQL)
		if err != nil || len(blobs) == 0 {
			t.Fatalf("SplitArgs %d: %v, %d blobs", i, err, len(blobs))
		}
		for _, b := range blobs {
			if _, err := ReadBlob(dir, b); err != nil {
				t.Errorf("SplitArgs %d: %v", i, err)
			}
		}
		if err := os.RemoveAll(filepath.Join(dir, BlobDir)); err != nil {
			t.Fatal(err)
		}
	}
}
