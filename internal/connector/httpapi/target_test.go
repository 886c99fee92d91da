package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
)

// pathCase is one agent path and, if it is allowed, the URL path the
// policy decides on (decoded) and the one on the wire (escaped).
type pathCase struct {
	in      string
	decoded string // "" when the path must be refused
	escaped string
}

// allowedPaths are agent paths under base "/v1/" that resolvePath accepts.
var allowedPaths = []pathCase{
	{"forecast", "/v1/forecast", "/v1/forecast"},
	{"/v1/forecast", "/v1/forecast", "/v1/forecast"},
	{"items/42", "/v1/items/42", "/v1/items/42"},
	{"/v1/items/42", "/v1/items/42", "/v1/items/42"},
	{"", "/v1/", "/v1/"},
	{"/v1", "/v1/", "/v1/"},
	{"/v1/", "/v1/", "/v1/"},
	// Decoded once; re-escaped segment by segment.
	{"a%20b", "/v1/a b", "/v1/a%20b"},
	{"a b", "/v1/a b", "/v1/a%20b"},
	{"a+b", "/v1/a+b", "/v1/a+b"},
	{"a%2Bb", "/v1/a+b", "/v1/a+b"},
	{"%7euser", "/v1/~user", "/v1/~user"},
	{"x:y", "/v1/x:y", "/v1/x:y"},
	// A percent that survives one decoding is data, escaped again on the
	// wire; "%61" is no structure ("a").
	{"%2561dmin", "/v1/%61dmin", "/v1/%2561dmin"},
	{"a%25", "/v1/a%", "/v1/a%25"},
	// ; , ? # decoded from escapes are data and escaped on the wire.
	{"a;b", "/v1/a;b", "/v1/a%3Bb"},
	{"a%3Bb", "/v1/a;b", "/v1/a%3Bb"},
	{"a,b", "/v1/a,b", "/v1/a%2Cb"},
	{"a%3Fb", "/v1/a?b", "/v1/a%3Fb"},
	{"a%23b", "/v1/a#b", "/v1/a%23b"},
	// Trailing slash kept.
	{"items/", "/v1/items/", "/v1/items/"},
	{"/v1/items/", "/v1/items/", "/v1/items/"},
	{"a/b/c/", "/v1/a/b/c/", "/v1/a/b/c/"},
	// Dots that are not dot segments.
	{".well-known/x", "/v1/.well-known/x", "/v1/.well-known/x"},
	{"..a", "/v1/..a", "/v1/..a"},
	{"a..", "/v1/a..", "/v1/a.."},
	{"a.b", "/v1/a.b", "/v1/a.b"},
	// Unicode, raw or escaped.
	{"café", "/v1/café", "/v1/caf%C3%A9"},
	{"caf%C3%A9", "/v1/café", "/v1/caf%C3%A9"},
	{"caf%c3%a9", "/v1/café", "/v1/caf%C3%A9"},
	{"日本/語", "/v1/日本/語", "/v1/%E6%97%A5%E6%9C%AC/%E8%AA%9E"},
	{"emoji/😀", "/v1/emoji/😀", "/v1/emoji/%F0%9F%98%80"},
}

// refusedPaths are agent paths under base "/v1/" that resolvePath refuses.
var refusedPaths = []string{
	// Dot segments, raw, encoded, Tomcat-style.
	"..", ".", "./x", "x/.", "x/./y", "../admin", "../../../etc/passwd", "a/../../b", "a/..",
	"/v1/../admin", "/v1/./x", "..;/admin", ".;/x", "..;x/admin", "..%3b/admin", "..%3B",
	"%2e%2e/admin", "%2E%2E", "%2e", "%2e%2e", ".%2e/admin", "%2e./admin", "a/%2e%2e/%2e%2e/b",
	// Encoded and raw separators.
	"a%2fb", "a%2Fb", "%2f", "..%2fadmin", "a%5cb", "a%5Cb", `a\b`, `..\admin`, `\\evil.com\x`,
	// Other origins and other bases.
	"//evil.com/x", "/admin", "/v10/x", "/v1x", "/V1/x", "/", "//v1/x", "http://evil.com/v1/x",
	// Empty segments.
	"a//b", "/v1//x", "x//", "/v1//",
	// Query and fragment belong elsewhere.
	"x?y=1", "?", "x#f", "#",
	// Control bytes, raw and encoded (C0, DEL, C1).
	"a%00b", "a\x00b", "a%0d%0aX: y", "a\r\nX: y", "a%0ab", "a%0Db", "a\x01b", "a\tb", "a%09b",
	"a\x7fb", "a%7fb", "a\u0085b", "a%c2%85b", "a\u009fb",
	// Malformed escapes.
	"%zz", "%", "a%2", "a%g0", "%u002e%u002e",
	// Encoded twice.
	"%252e%252e", "%252E%252E/admin", "%252f", "a%252Fb", "%255c", "%2500", "%250a", "%250D", "x%252e",
	// Encoded twice: a ";" that makes ".." a dot segment to Tomcat once a
	// server or proxy decodes again ("..;" → ".."), as "%252e" is refused.
	"..%253b/admin", "..%253B", ".%253bx",
	// Unicode that a normalising (NFKC) server reads as dots or
	// separators: fullwidth full stop, one- and two-dot leaders, fullwidth
	// solidus and reverse solidus, raw and encoded.
	"\uff0e\uff0e/admin", "\u2025", "\u2024\u2024", "%ef%bc%8e%ef%bc%8e/admin", "a\uff0fb", "a\uff3cb", "a%ef%bc%8fb",
	// Dot segments once trailing spaces and dots are dropped, as IIS and
	// Windows do (issue 12).
	". /admin", "..%20/admin", "x/.. /admin", ". . ", "%2e%20", ".. ./x",
	// A query parameter may not be set through the path either way.
	"x%253fy=1", "x%2523f",
	// Not UTF-8 once decoded (overlong "." included).
	"%c0%ae%c0%ae", "%ff", "a\xffb", "%e0%80%ae",
	// Over-long.
	strings.Repeat("a", maxPathBytes+1),
	strings.Repeat("a/", maxPathBytes/2+1),
}

func TestResolvePath(t *testing.T) {
	for _, tc := range allowedPaths {
		dec, esc, err := resolvePath("/v1/", tc.in)
		if err != nil {
			t.Errorf("resolvePath(%q) refused: %v", tc.in, err)
			continue
		}
		if dec != tc.decoded || esc != tc.escaped {
			t.Errorf("resolvePath(%q) = %q, %q; want %q, %q", tc.in, dec, esc, tc.decoded, tc.escaped)
		}
	}
	for _, in := range refusedPaths {
		if dec, esc, err := resolvePath("/v1/", in); err == nil {
			t.Errorf("resolvePath(%q) = %q, %q; want refused", in, dec, esc)
		} else if dec != "" || esc != "" {
			t.Errorf("resolvePath(%q) refused but returned %q, %q", in, dec, esc)
		}
	}
}

func TestResolvePathLengthBoundary(t *testing.T) {
	in := strings.Repeat("a", maxPathBytes)
	dec, _, err := resolvePath("/v1/", in)
	if err != nil || dec != "/v1/"+in {
		t.Fatalf("a path of exactly %d bytes: %q, %v", maxPathBytes, dec, err)
	}
	if _, _, err := resolvePath("/v1/", in+"a"); err == nil {
		t.Fatalf("a path of %d bytes was accepted", maxPathBytes+1)
	}
}

func TestResolvePathOtherBases(t *testing.T) {
	for _, tc := range []struct {
		base, in, decoded, escaped string
	}{
		{"/", "x", "/x", "/x"},
		{"/", "/x", "/x", "/x"},
		{"/", "", "/", "/"},
		{"/", "/", "/", "/"},
		{"/api/v2/", "users/7", "/api/v2/users/7", "/api/v2/users/7"},
		{"/api/v2/", "/api/v2/users/7", "/api/v2/users/7", "/api/v2/users/7"},
		{"/api/v2/", "/api/v2", "/api/v2/", "/api/v2/"},
		{"/my api/", "x", "/my api/x", "/my%20api/x"},
	} {
		dec, esc, err := resolvePath(tc.base, tc.in)
		if err != nil || dec != tc.decoded || esc != tc.escaped {
			t.Errorf("resolvePath(%q, %q) = %q, %q, %v; want %q, %q", tc.base, tc.in, dec, esc, err, tc.decoded, tc.escaped)
		}
	}
	for _, tc := range []struct{ base, in string }{
		{"/", "//x"}, {"/", "/../x"}, {"/", "%2e%2e"}, {"/", "//evil.com"},
		{"/api/v2/", "/api/v1/x"}, {"/api/v2/", "/api/v2x"}, {"/api/v2/", "../v1/x"}, {"/api/v2/", "/api/x"},
	} {
		if dec, _, err := resolvePath(tc.base, tc.in); err == nil {
			t.Errorf("resolvePath(%q, %q) = %q, want refused", tc.base, tc.in, dec)
		}
	}
}

// TestPathsOnTheWire sends every table path through the connector: an
// allowed one reaches the upstream exactly as escaped (and the policy saw
// the decoded form); a refused one fails in Prepare and nothing is sent.
// The dialer allows every address: this is layer 1 alone.
func TestPathsOnTheWire(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = everywhere }))
	sent := int64(0)
	for _, tc := range allowedPaths {
		args := map[string]any{"method": "GET", "path": tc.in}
		inv, err := prepare(t, c, args)
		if err != nil {
			t.Errorf("path %q: Prepare: %v", tc.in, err)
			continue
		}
		res, _, err := call(t, c, OpRequest, args, allowAll)
		if err != nil {
			t.Errorf("path %q: %v", tc.in, err)
			continue
		}
		sent++
		r, _ := up.last(t)
		if inv.Path != tc.decoded || r.RequestURI != tc.escaped || r.URL.Path != tc.decoded {
			t.Errorf("path %q: policy saw %q, upstream got %q (decoded %q); want %q on the wire, %q decoded",
				tc.in, inv.Path, r.RequestURI, r.URL.Path, tc.escaped, tc.decoded)
		}
		if res.Status != http.StatusOK {
			t.Errorf("path %q: status %d", tc.in, res.Status)
		}
	}
	for _, in := range refusedPaths {
		if !utf8.ValidString(in) {
			continue // not representable in JSON arguments; TestResolvePath covers it
		}
		_, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": in}, allowAll)
		assertRefused(t, "path "+quote(in), err)
	}
	if n := up.requests.Load(); n != sent {
		t.Fatalf("the upstream saw %d requests, want %d (the allowed paths only)", n, sent)
	}
}

// TestPathJSONEscapes: JSON escapes in the arguments are decoded before
// the path is checked, so they hide nothing.
func TestPathJSONEscapes(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, raw := range []string{
		`{"method":"GET","path":"\u002e\u002e/admin"}`,
		`{"method":"GET","path":"a\u002fb/..\u002f..\u002fadmin"}`,
		`{"method":"GET","path":"a\u005cb"}`,
		`{"method":"GET","path":"a\u0000b"}`,
		`{"method":"GET","path":"a\r\nX: y"}`,
		`{"method":"GET","path":"\/admin"}`,
	} {
		inv := core.Invocation{Op: OpRequest, Args: json.RawMessage(raw)}
		err := c.Prepare(t.Context(), &inv)
		assertRefused(t, raw, err)
	}
	if n := up.requests.Load(); n != 0 {
		t.Fatalf("the upstream saw %d requests", n)
	}
}

func TestParseBaseURL(t *testing.T) {
	for _, tc := range []struct{ in, host, base string }{
		{"https://api.example.com/v1/", "api.example.com", "/v1/"},
		{"https://api.example.com/v1", "api.example.com", "/v1/"},
		{"https://api.example.com", "api.example.com", "/"},
		{"https://API.Example.COM/", "api.example.com", "/"},
		{"http://localhost:8080/x/", "localhost:8080", "/x/"},
		{"https://8.8.8.8/", "8.8.8.8", "/"},
		{"https://[2606:4700:4700::1111]:443/", "[2606:4700:4700::1111]:443", "/"},
		{"https://1e100.net/", "1e100.net", "/"},
		{"https://api.example.com./", "api.example.com.", "/"},
	} {
		u, err := ParseBaseURL(tc.in, nil)
		if err != nil {
			t.Errorf("ParseBaseURL(%q): %v", tc.in, err)
			continue
		}
		if u.Host != tc.host || basePath(u) != tc.base {
			t.Errorf("ParseBaseURL(%q) = host %q base %q; want %q %q", tc.in, u.Host, basePath(u), tc.host, tc.base)
		}
	}
	for _, in := range []string{
		"", "api.example.com", "ftp://api.example.com/", "file:///etc/passwd", "javascript:alert(1)",
		"https:api.example.com", "https://", "https:///v1",
		"https://user:pass@api.example.com/", "https://user@api.example.com/",
		"https://api.example.com/?x=1", "https://api.example.com/?", "https://api.example.com/#f", "https://api.example.com/#",
		`https://api.example.com\@evil.com/`, "https://api.example.com/a b", "https://api.example.com/\t",
		// Numeric spellings and blocked addresses.
		"http://127.0.0.1/", "http://127.1/", "http://0x7f.1/", "http://0177.0.0.1/", "http://2130706433/",
		"http://0/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
		"http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/",
		"http://192.168.1.1/", "http://[fe80::1%25eth0]/", "http://0.0.0.0/", "http://1.2.3.4./",
		// Hosts that are not ASCII names.
		"http://ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ/", "http://exa%20mple.com/", "http://a..b/",
		// Ports.
		"https://api.example.com:0/", "https://api.example.com:0443/", "https://api.example.com:123456/",
		// Paths that are not canonical.
		"https://api.example.com/v1/../admin/", "https://api.example.com/a%2fb/", "https://api.example.com//x/",
	} {
		if u, err := ParseBaseURL(in, nil); err == nil {
			t.Errorf("ParseBaseURL(%q) = %v, want refused", in, u)
		}
	}
}

// prepare runs Prepare alone and returns the invocation as the policy
// sees it.
func prepare(t *testing.T, c *Connector, args any) (*core.Invocation, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	inv := &core.Invocation{Op: OpRequest, Args: raw}
	return inv, c.Prepare(t.Context(), inv)
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// assertRefused checks that err is Prepare's refusal of a request:
// KindInvalid, reason request-refused.
func assertRefused(t *testing.T, what string, err error) {
	t.Helper()
	assertPrepareError(t, what, err, core.ReasonRequestRefused)
}

// assertPrepareError checks that err is a KindInvalid refusal with reason
// from Prepare (when it came through call).
func assertPrepareError(t *testing.T, what string, err error, reason core.Reason) {
	t.Helper()
	var se *stageError
	switch {
	case err == nil:
		t.Errorf("%s: accepted, want refused", what)
	case core.KindOf(err) != core.KindInvalid:
		t.Errorf("%s: kind %v (%v), want invalid", what, core.KindOf(err), err)
	case reasonOf(err) != reason:
		t.Errorf("%s: reason %s (%v), want %s", what, reasonOf(err), err, reason)
	case errors.As(err, &se) && se.stage != "Prepare":
		t.Errorf("%s: refused in %s, want Prepare", what, se.stage)
	}
}
