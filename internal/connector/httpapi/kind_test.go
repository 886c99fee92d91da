package httpapi_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/warden-dev/warden/internal/connector/httpapi"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

// compile compiles a policy's text; the http kind is registered by the
// import of httpapi.
func compile(t testing.TB, src string, opts ...policy.Option) *policy.Policy {
	t.Helper()
	p, err := policy.Compile([]byte(src), append([]policy.Option{policy.WithBaseDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyProblems compiles each testdata/policy/*.yaml and compares
// every reported problem, with its position and hint, with the .golden
// file beside it (go test -update rewrites them).
func TestPolicyProblems(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "policy", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no policies: %v", err)
	}
	env := map[string]string{"WARDEN_TEST_TOKEN": "tok-1234567890"}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = policy.Compile(src, policy.WithSource(filepath.ToSlash(file)), policy.WithBaseDir(t.TempDir()), policy.WithLookupEnv(func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			}))
			var errs policy.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Compile(%s) = %v, want policy.Errors", file, err)
			}
			got := errs.Error() + "\n"
			for _, secret := range []string{"tok-1234567890", ":pw@"} {
				if strings.Contains(got, secret) && !strings.Contains(string(src), "base_url: https://user:pw@") {
					t.Errorf("Compile(%s) error text reveals the secret %q", file, secret)
				}
			}
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Compile(%s) problems mismatch (-want +got):\n%s", file, diff)
			}
		})
	}
}

// TestPlainHTTPWarning: the scheme is case-insensitive, so HTTP:// once
// loaded without the plain-http warning.
func TestPlainHTTPWarning(t *testing.T) {
	for _, base := range []string{"http://api.example.com/", "HTTP://api.example.com/", "Http://api.example.com/", "https://api.example.com/", "HTTPS://api.example.com/"} {
		p := compile(t, fmt.Sprintf("version: 1\nresources:\n  api: {kind: http, base_url: %q}\nagents:\n  a:\n    grants:\n      - {resource: api, actions: [GET]}\n", base))
		var warned *policy.Problem
		for _, w := range p.Warnings() {
			if strings.Contains(w.Msg, "plain http") {
				warned = w
			}
		}
		if want := !strings.HasPrefix(strings.ToLower(base), "https"); (warned != nil) != want {
			t.Errorf("Compile(base_url: %s): plain-http warning = %v, want %v", base, warned, want)
		}
		if warned != nil && (warned.Path != "resources.api.base_url" || warned.Pos.Line != 3) {
			t.Errorf("Compile(base_url: %s): warning at %s %s, want line 3, resources.api.base_url", base, warned.Pos, warned.Path)
		}
	}
}

// TestResourceConfig: every key of an http resource lands in its Config,
// paths resolved against the policy's directory.
func TestResourceConfig(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "api.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p, err := policy.Compile([]byte(`version: 1
resources:
  api:
    kind: http
    base_url: https://api.example/v1/
    auth: {query: api_key, secret: env:KEY}
    ca: ca.pem
    proxy: http://proxy.example:3128
    allow_private: [10.0.0.7, 10.1.2.3/16]
    openapi: api.yaml
    limits: {max_response_bytes: 64KiB, timeout: 5s, calls_per_minute: 30}
agents:
  a:
    grants:
      - {resource: api, read_only: true}
`), policy.WithBaseDir(dir), policy.WithLookupEnv(func(k string) (string, bool) { return "key-0123456789", k == "KEY" }))
	if err != nil {
		t.Fatal(err)
	}
	spec := p.Resource("api")
	cfg, ok := spec.Config.(*httpapi.Config)
	if !ok {
		t.Fatalf("Config = %T, want *httpapi.Config", spec.Config)
	}
	want := httpapi.Config{
		BaseURL: "https://api.example/v1/",
		CAFile:  filepath.Join(dir, "ca.pem"),
		Proxy:   "http://proxy.example:3128",
		AllowPrivate: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.7/32"),
			netip.MustParsePrefix("10.1.0.0/16"),
		},
		OpenAPI: filepath.Join(dir, "api.yaml"),
		Limits:  httpapi.Limits{MaxResponseBytes: 64 << 10, Timeout: 5 * time.Second, CallsPerMinute: 30},
	}
	got := *cfg
	got.Auth = nil
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("Config mismatch (-want +got):\n%s", diff)
	}
	if a := cfg.Auth; a == nil || a.Scheme != "query" || a.Name != "api_key" || a.Secret.Reveal() != "key-0123456789" || a.Secret.Ref() != "env:KEY" {
		t.Errorf("Auth = %+v, want query api_key from env:KEY", cfg.Auth)
	}
	if got := httpapi.Kind.Describe(spec); got != "the HTTP API at https://api.example/v1/" {
		t.Errorf("Describe = %q", got)
	}
	paths := httpapi.Kind.HostPaths(spec, true)
	wantPaths := []core.HostPath{
		{Path: filepath.Join(dir, "ca.pem"), Why: "resource api (its CA file, read)"},
		{Path: filepath.Join(dir, "api.yaml"), Why: "resource api (its OpenAPI document, read)"},
	}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("HostPaths mismatch (-want +got):\n%s", diff)
	}
	if paths := httpapi.Kind.HostPaths(compile(t, "version: 1\nresources:\n  api: {kind: http, base_url: \"https://api.example/\"}\nagents:\n  a:\n    grants:\n      - {resource: api, actions: [GET]}\n").Resource("api"), false); len(paths) != 0 {
		t.Errorf("HostPaths without ca or openapi = %v, want none", paths)
	}
}

const grantsPolicy = `version: 1
resources:
  api: {kind: http, base_url: "https://api.example/v1/"}
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], paths: ["/v1/users"], query: [page, per_page], headers: [accept, x-trace-id]}
      - {resource: api, actions: [POST], paths: ["/v1/notes"], max_body_bytes: 1KiB, query: []}
      - {resource: api, read_only: true, paths: ["/v1/public/**"]}
      - {resource: api, actions: [PUT], paths: ["/v1/empty"], headers: [], max_body_bytes: 0}
`

// TestGrantConstraints: query, headers and max_body_bytes narrow a grant;
// a denial says which parameter, header or size is outside it and what
// the grant allows, and the scope says it in words.
func TestGrantConstraints(t *testing.T) {
	p := compile(t, grantsPolicy)
	grants := p.Grants("bot", "api")
	if len(grants) != 4 {
		t.Fatalf("%d grants, want 4", len(grants))
	}
	scopes := []string{
		"query parameters page, per_page; headers Accept, X-Trace-Id",
		"no query parameters; a body of at most 1024 bytes",
		"",
		"no headers; no body",
	}
	for i, g := range grants {
		got := ""
		if g.Constraint != nil {
			got = g.Constraint.Scope()
		}
		if got != scopes[i] {
			t.Errorf("grants[%d] scope %q, want %q", i, got, scopes[i])
		}
	}
	// A grant with none of the keys has no constraint, and read_only
	// stands for GET and HEAD.
	if g := grants[2]; g.Constraint != nil || !slices.Equal(g.Actions, []string{"GET", "HEAD"}) {
		t.Errorf("read_only grant: constraint %v, actions %v; want none, [GET HEAD]", g.Constraint, g.Actions)
	}

	ctx := context.Background()
	for _, tc := range []struct {
		action, path string
		detail       *httpapi.Detail
		allow        bool
		why          string
	}{
		{"GET", "/v1/users", &httpapi.Detail{Query: []string{"page"}, Headers: []string{"Accept"}}, true, ""},
		{"GET", "/v1/users", &httpapi.Detail{Query: []string{"debug", "page"}}, false, `query parameter "debug" is not among the grant's query: page, per_page`},
		{"GET", "/v1/users", &httpapi.Detail{Headers: []string{"Accept", "X-Debug"}}, false, `header "X-Debug" is not among the grant's headers: Accept, X-Trace-Id`},
		{"POST", "/v1/notes", &httpapi.Detail{BodyBytes: 1024}, true, ""},
		{"POST", "/v1/notes", &httpapi.Detail{BodyBytes: 1025}, false, "the body is 1025 bytes, over the grant's max_body_bytes 1024"},
		{"POST", "/v1/notes", &httpapi.Detail{Query: []string{"x"}}, false, `query parameter "x" is not among the grant's query (none)`},
		{"PUT", "/v1/empty", &httpapi.Detail{Headers: []string{"Accept"}}, false, `header "Accept" is not among the grant's headers (none)`},
		{"PUT", "/v1/empty", &httpapi.Detail{BodyBytes: 1}, false, "the body is 1 bytes, over the grant's max_body_bytes 0"},
		{"PUT", "/v1/empty", &httpapi.Detail{}, true, ""},
		{"GET", "/v1/public/x", &httpapi.Detail{Query: []string{"anything"}, Headers: []string{"X-Any"}, BodyBytes: 1 << 20}, true, ""},
		// A decision on the path alone (no call detail) is not narrowed.
		{"GET", "/v1/users", nil, true, ""},
	} {
		req := &core.Request{Agent: "bot", Resource: "api", Action: tc.action, Path: tc.path}
		if tc.detail != nil {
			req.Detail = tc.detail
		}
		d := p.Evaluate(ctx, req)
		if d.Allowed() != tc.allow || d.Why != tc.why {
			t.Errorf("%s %s %+v: %v, why %q; want allowed %v, why %q", tc.action, tc.path, tc.detail, d, d.Why, tc.allow, tc.why)
		}
	}
}

// TestDoctor: where each resource's requests may go, its credential's
// reference, the proxy without its password, and a host that resolves to
// an address calls refuse. Nothing is connected to.
func TestDoctor(t *testing.T) {
	p := compile(t, `version: 1
resources:
  internal: {kind: http, base_url: "http://10.0.0.5:8080/", allow_private: [10.0.0.0/24], auth: {bearer: env:TOK}}
  proxied: {kind: http, base_url: "https://api.example/", proxy: "http://user:proxy-pw@10.9.9.9:3128"}
  local: {kind: http, base_url: "http://localhost:8080/"}
agents:
  a:
    grants:
      - {resource: local, actions: [GET]}
`, policy.WithLookupEnv(func(k string) (string, bool) { return "tok-0123456789", k == "TOK" }))
	specs := p.Resources()
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	broken := &core.ResourceSpec{Name: "broken", Kind: "http", Config: &httpapi.Config{BaseURL: "https://api.example/", OpenAPI: missing}}
	got := httpapi.Kind.Doctor(context.Background(), core.DoctorInput{Specs: append(specs, broken)})
	if len(got) != 1 || got[0].Title != "network" || got[0].Summary == "" {
		t.Fatalf("Doctor = %+v, want one network block", got)
	}
	var lines []string
	for _, l := range got[0].Lines {
		if strings.Contains(l.Text, "proxy-pw") || strings.Contains(l.Text, "tok-0123456789") {
			t.Errorf("line %q reveals a secret", l.Text)
		}
		if l.Problem {
			l.Text = "PROBLEM: " + l.Text
		}
		lines = append(lines, l.Text)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		"internal: http://10.0.0.5:8080/ (public addresses only, and 10.0.0.0/24)",
		"internal: credential (bearer) from env:TOK, added by Warden and redacted from results",
		"proxied: https://api.example/ (public addresses only)",
		"proxied: through the proxy http://10.9.9.9:3128, which resolves and connects: the address check applies to the proxy",
		"local: http://localhost:8080/ (public addresses only)",
		// The operator's cause, not the model's sentence.
		"PROBLEM: broken: cannot read the OpenAPI document " + missing + ": no such file or directory",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor lines lack %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "PROBLEM: internal") || strings.Contains(text, "PROBLEM: proxied") {
		t.Errorf("a resource allowed where it goes is reported as a problem:\n%s", text)
	}
	if !strings.Contains(text, "localhost does not resolve here") && !strings.Contains(text, "PROBLEM: local: localhost resolves to ") {
		t.Errorf("localhost's loopback address is not reported:\n%s", text)
	}
	if got := httpapi.Kind.Doctor(context.Background(), core.DoctorInput{}); got != nil {
		t.Errorf("Doctor without resources = %+v, want nothing", got)
	}
}

// serverReads models, independently of the deny forms, how the servers
// they defend against read one path segment: decoded once, ;params
// dropped (Tomcat), NFKC-normalised, trailing dots and spaces dropped
// (IIS), then compared ignoring case as Java's equalsIgnoreCase does (per
// character, by upper or lower case) or under full case folding.
func serverReads(seg, name string) bool {
	forms := []string{seg}
	if d, err := url.PathUnescape(seg); err == nil {
		forms = append(forms, d)
	}
	for _, f := range forms {
		f, _, _ = strings.Cut(f, ";")
		for _, g := range []string{f, norm.NFKC.String(f)} {
			g = strings.TrimRight(g, ". ")
			if javaEqualFold(g, name) || cases.Fold().String(g) == name {
				return true
			}
		}
	}
	return false
}

func javaEqualFold(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		x, y := ra[i], rb[i]
		if x != y && unicode.ToUpper(x) != unicode.ToUpper(y) && unicode.ToLower(x) != unicode.ToLower(y) {
			return false
		}
	}
	return true
}

// FuzzHTTPDenySpellings: whatever segment a server reads as "admin" is
// denied by a deny rule on /v1/public/admin/**, with anything after it.
// The seeds in testdata/fuzz/FuzzHTTPDenySpellings are the spellings that
// once walked around the rule (issue 12).
func FuzzHTTPDenySpellings(f *testing.F) {
	for _, s := range []string{"admin", "ADMIN", "admin.", "admin%2e", "admin ", "admin%20", "admin. .", "adm\u0131n", "ADM\u0130N", "adm\u0131n.", "ａｄｍｉｎ", "admin;x", "admin.;x", "admin．", "admin\u3000"} {
		f.Add(s, "x")
	}
	p := compile(f, `version: 1
resources:
  api: {kind: http, base_url: "https://api.example/v1/"}
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], paths: ["/v1/**"]}
    deny:
      - {resource: api, paths: ["/v1/public/admin/**"]}
`)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, seg, rest string) {
		if !utf8.ValidString(seg) || !utf8.ValidString(rest) || strings.ContainsAny(seg+rest, "/?#\\") || len(seg) > 64 || len(rest) > 64 {
			return
		}
		for _, r := range seg + rest {
			if r < 0x20 || r == 0x7f {
				return
			}
		}
		path := "/v1/public/" + seg
		if rest != "" {
			path += "/" + rest
		}
		d := p.Evaluate(ctx, &core.Request{Agent: "bot", Resource: "api", Action: "GET", Path: path, Detail: &httpapi.Detail{}})
		if serverReads(seg, "admin") && d.Effect != core.Deny {
			t.Errorf("Evaluate(GET %q) = %v, but a server reads %q as admin", path, d, seg)
		}
	})
}
