package mcpserver

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// encodeResponse encodes a tools/call response as the SDK does on its way
// to a transport.
func encodeResponse(t testing.TB, res *mcp.CallToolResult) []byte {
	t.Helper()
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := jsonrpc.MakeID(float64(7))
	data, err := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Result: raw})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// expand returns msg with every held placeholder replaced by its text, as
// a transport writes it.
func (in *inliner) expand(msg []byte) []byte {
	parts, done := in.split(msg)
	full := bytes.Join(parts, nil)
	done()
	return full
}

// checkInline checks that a result whose text goes through the inliner
// reads, once expanded, exactly as the same result encoded the SDK's way.
func checkInline(t testing.TB, s string) {
	t.Helper()
	in := newInliner()
	slow := encodeResponse(t, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}})
	fast := in.expand(encodeResponse(t, &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.text(s, nil)}}}))
	if !bytes.Equal(fast, slow) {
		t.Fatalf("expanded message differs from the SDK's encoding:\n got %.200q\nwant %.200q", fast, slow)
	}
	if len(in.held) != 0 || in.bytes != 0 {
		t.Fatalf("%d texts (%d bytes) still held after the message was written", len(in.held), in.bytes)
	}
}

func TestInliner_sameBytesAsTheSDK(t *testing.T) {
	unit := "plain \"q\" \\ <a>&b \t\r\n\x01\x7f \u2028\u2029 é 日本 🎉 \xff invalid " +
		`warden-inline:0123456789abcdef0123456789abcdef "warden-inline:0123456789abcdef0123456789abcdef" `
	for _, n := range []int{inlineMinBytes - 1, inlineMinBytes, 1 << 20} {
		s := strings.Repeat(unit, n/len(unit)+1)[:n]
		checkInline(t, s)
	}
}

func TestInliner_onlyItsOwnPlaceholders(t *testing.T) {
	in := newInliner()
	s := strings.Repeat("a", inlineMinBytes)
	p := in.text(s, nil)
	if !strings.HasPrefix(p, placeholderPrefix) || len(p) != placeholderLen {
		t.Fatalf("text = %.40q, want a placeholder", p)
	}
	other := newInliner()
	msg := []byte(`{"a":"` + p + `"}`)
	if got := other.expand(msg); !bytes.Equal(got, msg) {
		t.Errorf("another inliner expanded a placeholder it does not hold: %.60q", got)
	}
	// A placeholder's text quoted inside a string (after an escaped quote)
	// is not a placeholder: replacing it would break the JSON.
	inside := []byte(`{"a":"x\"` + p + `"}`)
	if got := in.expand(inside); !bytes.Equal(got, inside) {
		t.Errorf("expanded a placeholder inside a string: %.60q", got)
	}
	if got := in.expand(msg); !bytes.Equal(got, []byte(`{"a":"`+s+`"}`)) {
		t.Errorf("expand = %.60q", got)
	}
	// Written once: a second message naming it is left alone.
	if got := in.expand(msg); !bytes.Equal(got, msg) {
		t.Errorf("a placeholder expanded twice")
	}
	var none *inliner
	if got := none.text(s, nil); got != s {
		t.Errorf("without an inliner the text must be the text itself")
	}
}

func TestInliner_boundedHold(t *testing.T) {
	in := newInliner()
	in.bytes = inlineMaxHeld - 10
	s := strings.Repeat("b", inlineMinBytes)
	if got := in.text(s, nil); got != s {
		t.Errorf("over the bound, the text must go the SDK's way")
	}
}

func FuzzInliner(f *testing.F) {
	f.Add("hello \"world\" \\ <>&\u2028")
	f.Add("\xff\xfe invalid \x00 nul")
	f.Fuzz(func(t *testing.T, s string) {
		checkInline(t, strings.Repeat(s+"\n", inlineMinBytes/(len(s)+1)+1))
	})
}
