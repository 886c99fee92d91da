package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// refusedHeaderNames are headers an agent may never set, in several
// spellings.
var refusedHeaderNames = []string{
	"Host", "host", "HOST", "Authorization", "authorization", "Proxy-Authorization", "Proxy-Foo",
	"X-Forwarded-For", "x-forwarded-for", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Real-IP",
	"True-Client-IP", "X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-Http-Method",
	"X-Method-Override", "Transfer-Encoding", "Connection", "Keep-Alive", "TE", "Trailer", "Upgrade",
	"Content-Length", "Expect", "Via", "Max-Forwards", "Sec-Fetch-Site", "Sec-WebSocket-Key",
}

// TestRefusedHeaders: forbidden names, invalid names and values with
// control characters are refused in Prepare, and nothing is sent.
func TestRefusedHeaders(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) {
		s.Auth = &Auth{Scheme: "header", Name: "X-Api-Key", Secret: core.NewSecret("env:K", "k-0123456789abcdef")}
	}))
	var cases []map[string]string
	for _, name := range append(refusedHeaderNames, "X-Api-Key", "x-api-key", "X-API-KEY") {
		cases = append(cases, map[string]string{name: "1"})
	}
	for _, name := range []string{"", "X A", "X:A", "X\nA", "X\r\nA", "X\x00A", "Ünicode", "X(A)", "X/A", "X@A", "X\"A", strings.Repeat("X", 257)} {
		cases = append(cases, map[string]string{name: "1"})
	}
	for _, value := range []string{"a\r\nX-Injected: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb", "a\x01b", "a\x1bb", strings.Repeat("v", maxHeaderBytes+1)} {
		cases = append(cases, map[string]string{"X-Custom": value})
	}
	tooMany := map[string]string{}
	for i := range maxHeaders + 1 {
		tooMany[fmt.Sprintf("X-H%d", i)] = "1"
	}
	cases = append(cases, tooMany)
	for _, h := range cases {
		args := get("x")
		args["headers"] = h
		_, _, err := call(t, c, OpRequest, args, allowAll)
		assertRefused(t, fmt.Sprintf("headers %q", slices.Collect(maps.Keys(h))), err)
	}
	assertUntouched(t, "the upstream", up)
}

// TestUnderscoreHeaderSpellings: CGI, WSGI and PHP servers read "_" in a
// header name as "-" (X_Forwarded_For becomes HTTP_X_FORWARDED_FOR), so a
// refused header spelled with underscores must be refused too.
func TestUnderscoreHeaderSpellings(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, name := range []string{"X_Forwarded_For", "X-Forwarded_For", "X_Real_Ip", "X_Http_Method_Override", "X_Original_Url", "Proxy_Authorization", "Transfer_Encoding"} {
		args := get("x")
		args["headers"] = map[string]string{name: "127.0.0.1"}
		_, _, err := call(t, c, OpRequest, args, allowAll)
		assertRefused(t, "header "+name, err)
	}
	if conns, reqs := settle(t, up); reqs != 0 {
		t.Errorf("the upstream received %d requests on %d connections with spoofing headers", reqs, conns)
	}
}

// TestAllowedHeaders: headers an agent may set arrive exactly, once, and
// the policy sees their canonical names.
func TestAllowedHeaders(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	headers := map[string]string{
		"Accept":          "application/json",
		"accept-language": "fr-CH, fr;q=0.9",
		"X-Custom":        "a b\tc d",
		"X-Unicode":       "héllo ☃",
		"If-None-Match":   `"abc"`,
		"X-Quotes":        `'single' "double" \back`,
		"X-Empty":         "",
		"Content-Type":    "application/xml",
		"X-Max":           strings.Repeat("v", maxHeaderBytes),
	}
	args := map[string]any{"method": "POST", "path": "x", "headers": headers, "body": "<a/>"}
	inv, err := prepare(t, c, args)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range headers {
		names = append(names, http.CanonicalHeaderKey(k))
	}
	slices.Sort(names)
	if !slices.Equal(inv.Detail.(*Detail).Headers, names) {
		t.Errorf("the policy sees headers %q, want %q", inv.Detail.(*Detail).Headers, names)
	}
	if _, _, err := call(t, c, OpRequest, args, allowAll); err != nil {
		t.Fatal(err)
	}
	r, body := up.last(t)
	for k, v := range headers {
		if got := r.Header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s arrived as %q, want [%q]", k, got, v)
		}
	}
	if string(body) != "<a/>" || r.Header.Get("User-Agent") != "warden" || r.Header.Get("Authorization") != "" {
		t.Errorf("body %q, User-Agent %q, Authorization %q", body, r.Header.Get("User-Agent"), r.Header.Get("Authorization"))
	}
}

// TestQuery: every value arrives as exactly one parameter with exactly its
// value, however it is spelled; arrays repeat; control characters and the
// credential's parameter are refused.
func TestQuery(t *testing.T) {
	const secret = "qk-0123456789abcdef"
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) {
		s.Auth = &Auth{Scheme: "query", Name: "api_key", Secret: core.NewSecret("env:K", secret)}
	}))
	query := map[string]any{
		"amp":      "a&b=c",
		"eq":       "=",
		"hash":     "x#frag",
		"pct":      "100%25%",
		"plus":     "a+b",
		"space":    " a b ",
		"uni":      "日本語 ☃ é",
		"semi":     "a;b",
		"qmark":    "?x=1",
		"slash":    "../../admin",
		"empty":    "",
		"a&b":      "name with &",
		"c=d":      "name with =",
		"e f":      "name with space",
		"g[]":      "bracket",
		"api_key2": "not the credential",
		"tags":     []any{"x", "y&z", "x"},
		"num":      1.5,
		"big":      json.Number("12345678901234567890"),
		"neg":      -3,
		"bool":     true,
		"mixed":    []any{1, false, "s"},
	}
	want := map[string][]string{
		"amp": {"a&b=c"}, "eq": {"="}, "hash": {"x#frag"}, "pct": {"100%25%"}, "plus": {"a+b"}, "space": {" a b "},
		"uni": {"日本語 ☃ é"}, "semi": {"a;b"}, "qmark": {"?x=1"}, "slash": {"../../admin"}, "empty": {""},
		"a&b": {"name with &"}, "c=d": {"name with ="}, "e f": {"name with space"}, "g[]": {"bracket"},
		"api_key2": {"not the credential"}, "tags": {"x", "y&z", "x"}, "num": {"1.5"}, "big": {"12345678901234567890"},
		"neg": {"-3"}, "bool": {"true"}, "mixed": {"1", "false", "s"},
		"api_key": {secret},
	}
	args := map[string]any{"method": "GET", "path": "search", "query": query}
	inv, err := prepare(t, c, args)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(query))
	if !slices.Equal(inv.Detail.(*Detail).Query, names) {
		t.Errorf("the policy sees the query names %q, want %q", inv.Detail.(*Detail).Query, names)
	}
	if _, _, err := call(t, c, OpRequest, args, allowAll); err != nil {
		t.Fatal(err)
	}
	r, _ := up.last(t)
	got := map[string][]string(r.URL.Query())
	if r.URL.Path != "/v1/search" || !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("the upstream got %s\nparsed %q\nwant   %q", r.RequestURI, got, want)
	}

	sent := up.requests.Load()
	for _, q := range []map[string]any{
		{"a": "line\nbreak"}, {"a": "cr\rx"}, {"a": "nul\x00"}, {"a": "tab\t"}, {"a": "del\x7f"}, {"a": []any{"ok", "bad\n"}},
		{"bad\nname": "1"}, {"": "1"}, {"api_key": "agent's own"}, {"api_key": []any{"a", "b"}},
	} {
		_, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": "x", "query": q}, allowAll)
		assertRefused(t, fmt.Sprintf("query %q", q), err)
	}
	for _, q := range []map[string]any{{"a": map[string]any{"b": 1}}, {"a": []any{[]any{1}}}, {"a": []any{nil}}, {"a": []any{map[string]any{}}}} {
		_, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": "x", "query": q}, allowAll)
		if core.KindOf(err) != core.KindInvalid {
			t.Errorf("query %v: %v, want refused", q, err)
		}
	}
	if n := up.requests.Load(); n != sent {
		t.Errorf("refused queries sent %d requests", n-sent)
	}
}

// TestBody: a string is sent as text, anything else as compact JSON; the
// agent's Content-Type wins; GET and HEAD carry none.
func TestBody(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, tc := range []struct {
		body     any
		ctype    string
		wantBody string
		wantType string
	}{
		{"plain text ☃", "", "plain text ☃", "text/plain; charset=utf-8"},
		{map[string]any{"a": []int{1, 2}}, "", `{"a":[1,2]}`, "application/json"},
		{json.RawMessage(`{ "b" : 1 ,"a": "x" }`), "", `{"b":1,"a":"x"}`, "application/json"},
		{[]any{1, "two"}, "", `[1,"two"]`, "application/json"},
		{42, "", "42", "application/json"},
		{"a=1&b=2", "application/x-www-form-urlencoded", "a=1&b=2", "application/x-www-form-urlencoded"},
	} {
		args := map[string]any{"method": "POST", "path": "x", "body": tc.body}
		if tc.ctype != "" {
			args["headers"] = map[string]string{"Content-Type": tc.ctype}
		}
		inv, err := prepare(t, c, args)
		if err != nil {
			t.Errorf("body %v: %v", tc.body, err)
			continue
		}
		if inv.Detail.(*Detail).BodyBytes != int64(len(tc.wantBody)) || inv.Action != "POST" || inv.ReadOnly {
			t.Errorf("body %v: the policy sees %d bytes, action %s, read-only %v", tc.body, inv.Detail.(*Detail).BodyBytes, inv.Action, inv.ReadOnly)
		}
		if _, _, err := call(t, c, OpRequest, args, allowAll); err != nil {
			t.Fatal(err)
		}
		r, got := up.last(t)
		if string(got) != tc.wantBody || r.Header.Get("Content-Type") != tc.wantType || r.ContentLength != int64(len(tc.wantBody)) {
			t.Errorf("body %v: upstream got %q (%s, %d bytes); want %q (%s)", tc.body, got, r.Header.Get("Content-Type"), r.ContentLength, tc.wantBody, tc.wantType)
		}
	}

	sent := up.requests.Load()
	for _, m := range []string{"GET", "HEAD"} {
		for _, body := range []any{"x", map[string]any{}, 0, "", []any{}} {
			_, _, err := call(t, c, OpRequest, map[string]any{"method": m, "path": "x", "body": body}, allowAll)
			assertRefused(t, fmt.Sprintf("%s with body %v", m, body), err)
		}
		if _, _, err := call(t, c, OpRequest, map[string]any{"method": m, "path": "x", "body": nil}, allowAll); err != nil {
			t.Errorf("%s with a null body: %v", m, err)
		}
	}
	r, got := up.last(t)
	if r.Method != "HEAD" || len(got) != 0 || r.ContentLength > 0 {
		t.Errorf("HEAD with a null body sent %q", got)
	}
	if n := up.requests.Load() - sent; n != 2 {
		t.Errorf("%d requests, want the 2 without a body", n)
	}
}

func TestMethods(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, m := range methods {
		inv, err := prepare(t, c, map[string]any{"method": m, "path": "x"})
		if err != nil || inv.Action != m || inv.ReadOnly != safeMethod(m) || inv.Path != "/v1/x" {
			t.Errorf("%s: %+v, %v", m, inv, err)
			continue
		}
		if _, _, err := call(t, c, OpRequest, map[string]any{"method": m, "path": "x"}, allowAll); err != nil {
			t.Errorf("%s: %v", m, err)
		} else if r, _ := up.last(t); r.Method != m {
			t.Errorf("%s arrived as %s", m, r.Method)
		}
	}
	sent := up.requests.Load()
	for _, m := range []string{"get", "Get", "CONNECT", "TRACE", "PROPFIND", "", "GET ", "GET\r\n"} {
		_, _, err := call(t, c, OpRequest, map[string]any{"method": m, "path": "x"}, allowAll)
		if core.KindOf(err) != core.KindInvalid {
			t.Errorf("method %q: %v, want refused", m, err)
		}
	}
	for _, raw := range []string{`{"method":"GET"}`, `{"path":"x"}`, `{"method":"GET","path":"x","extra":1}`, `{"method":"GET","path":1}`, `[]`, `{`} {
		inv := core.Invocation{Op: OpRequest, Args: json.RawMessage(raw)}
		if err := c.Prepare(t.Context(), &inv); err == nil && raw != `{"method":"GET"}` {
			t.Errorf("arguments %s accepted", raw)
		}
	}
	if n := up.requests.Load(); n != sent {
		t.Errorf("refused methods sent %d requests", n-sent)
	}
}

// TestRequestOperation: the generic tool reaches beyond the host, its
// method, path and query say what a call does, and a denial quotes its
// path; only GET, HEAD and OPTIONS are read-only, as the kind says.
func TestRequestOperation(t *testing.T) {
	ops := newConn(t, spec("https://api.example/v1/", nil)).Operations()
	if len(ops) != 1 {
		t.Fatalf("%d operations, want the generic one", len(ops))
	}
	op := ops[0]
	if op.Name != OpRequest || !op.OpenWorld || op.TargetArg != "path" || !slices.Equal(op.KeyArgs, []string{"method", "path", "query"}) {
		t.Errorf("request operation: name %q, OpenWorld %v, TargetArg %q, KeyArgs %q", op.Name, op.OpenWorld, op.TargetArg, op.KeyArgs)
	}
	if !slices.Equal(op.ReadOnlyActions, Kind.ReadActions) || !slices.Equal(op.Actions, Kind.Actions) {
		t.Errorf("request operation: actions %v, read-only %v; want the kind's %v, %v", op.Actions, op.ReadOnlyActions, Kind.Actions, Kind.ReadActions)
	}
}
