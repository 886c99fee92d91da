package httpapi

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/cases"
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

func TestFoldToASCII(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/admin":           "/v1/admin",
		"/v1/adm\u0131n":      "/v1/admin",
		"/v1/cla\u00df":       "/v1/class",
		"/v1/\u212aeys":       "/v1/keys",
		"/v1/\ufb01le/\u017f": "/v1/file/s",
		"/v1/caf\u00e9":       "/v1/caf\u00e9", // not a case-fold of ASCII
	} {
		if got := foldToASCII(in); got != want {
			t.Errorf("foldToASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTrimSegments(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/admin":         "/v1/admin",
		"/v1/admin./x":      "/v1/admin/x",
		"/v1/admin. ./x":    "/v1/admin/x",
		"/v1/admin /":       "/v1/admin/",
		"/v1/x/.. /admin/y": "/v1/admin/y",
		"/v1/x/. /admin":    "/v1/x/admin",
		"/v1/x/..":          "/v1/",
		"/.. /.. /admin":    "/admin", // never above the start
		"/v1/a.b/c":         "/v1/a.b/c",
	} {
		if got := trimSegments(in); got != want {
			t.Errorf("trimSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDenyForms: the forms start with the target itself, and hold the
// spelling a server folds each variant into, also when a path needs
// several steps.
func TestDenyForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/v1/admin/x", "/v1/admin/x"},
		{"/v1/admin%2e/x", "/v1/admin/x"},
		{"/v1/admin;jsessionid=1/x", "/v1/admin/x"},
		{"/v1/adm\u0131n./x", "/v1/admin/x"},
		{"/v1/\uff41dmin/x", "/v1/admin/x"},
		{"/v1/adm\u0131n;x./", "/v1/admin"},
		{"/v1/admin/", "/v1/admin"},
	} {
		forms := denyForms(tc.in)
		if len(forms) == 0 || forms[0] != tc.in {
			t.Errorf("denyForms(%q) = %q, want it to start with the target", tc.in, forms)
		}
		if !slices.Contains(forms, tc.want) {
			t.Errorf("denyForms(%q) = %q, want %q among them", tc.in, forms, tc.want)
		}
	}
	// A plain path has no other spelling.
	if forms := denyForms("/v1/users/42"); len(forms) != 1 {
		t.Errorf("denyForms(/v1/users/42) = %q, want just the path", forms)
	}
}
