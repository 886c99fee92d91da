package policy

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/warden-dev/warden/internal/core"
)

// TestASCIIFoldsComplete checks asciiFolds against every letter: any letter
// whose upper or lower case, simple case folding orbit or full case folding
// is ASCII must be listed with that text, so a new Unicode version cannot
// add a confusable the deny forms miss.
func TestASCIIFoldsComplete(t *testing.T) {
	fold := cases.Fold()
	isASCII := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return false
			}
		}
		return s != ""
	}
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		var want string
		switch {
		case unicode.ToLower(r) < 0x80:
			want = string(unicode.ToLower(r))
		case unicode.ToUpper(r) < 0x80:
			want = strings.ToLower(string(unicode.ToUpper(r)))
		case isASCII(fold.String(string(r))):
			want = fold.String(string(r))
		default:
			for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
				if o < 0x80 {
					want = strings.ToLower(string(o))
				}
			}
		}
		if want == "" {
			continue
		}
		if got, ok := asciiFolds[r]; !ok || got != want {
			t.Errorf("asciiFolds[%U %c] = %q, want %q", r, r, got, want)
		}
	}
}

// serverReads models, independently of httpDenyForms, how the servers the
// deny forms defend against read one path segment: decoded once, ;params
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
	p, err := Compile([]byte(`version: 1
resources:
  api: {kind: http, base_url: "https://api.example/v1/"}
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], paths: ["/v1/**"]}
    deny:
      - {resource: api, paths: ["/v1/public/admin/**"]}
`), WithBaseDir(f.TempDir()))
	if err != nil {
		f.Fatal(err)
	}
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
		d := p.Evaluate(ctx, &core.Request{Agent: "bot", Resource: "api", Action: "GET", Path: path, HTTP: &core.HTTPCall{}})
		if serverReads(seg, "admin") && d.Effect != core.Deny {
			t.Errorf("Evaluate(GET %q) = %v, but a server reads %q as admin", path, d, seg)
		}
	})
}
