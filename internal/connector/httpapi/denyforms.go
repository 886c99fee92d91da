package httpapi

import (
	"net/url"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/warden-dev/warden/internal/glob"
)

// denyForms are the spellings of a URL path that servers commonly
// treat as the same resource, so a deny rule that matches any of them
// denies. target is already lower-cased (glob.Fold). Each step below is
// applied to every form found so far, so a path that needs several of them
// ("/v1/ADMİN;x./") is still caught:
//   - %-decoded once more, for a caller that hands over an encoded path
//     ("admin%2e");
//   - after Unicode NFKC normalisation, lower-cased again (fullwidth
//     "ａｄｍｉｎ", "ℌ");
//   - with the letters that case-insensitive comparisons equate with ASCII
//     replaced by it (see asciiFolds: Java's equalsIgnoreCase reads "ı" as
//     "i", full case folding reads "ß" as "ss");
//   - without ";params" in a segment (Tomcat, Spring);
//   - without trailing dots and spaces in a segment (IIS and Windows read
//     "admin." and "admin " as "admin"), with the "." and ".." segments
//     that trimming leaves resolved;
//   - with or without a trailing slash.
//
// The first form is target itself. Grants see the path as it is.
func denyForms(target string) []string {
	forms := []string{target}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	each := func(f func(string) string) {
		for _, form := range slices.Clone(forms) {
			add(f(form))
		}
	}
	each(func(s string) string {
		if !strings.Contains(s, "%") {
			return s
		}
		d, err := url.PathUnescape(s)
		if err != nil {
			return s
		}
		return glob.Fold(d)
	})
	each(func(s string) string { return glob.Fold(norm.NFKC.String(s)) })
	each(foldToASCII)
	each(func(s string) string {
		segs := strings.Split(s, "/")
		for i, seg := range segs {
			segs[i], _, _ = strings.Cut(seg, ";")
		}
		return strings.Join(segs, "/")
	})
	each(trimSegments)
	each(func(s string) string {
		if len(s) > 1 && strings.HasSuffix(s, "/") {
			return strings.TrimSuffix(s, "/")
		}
		return s
	})
	return forms
}

// asciiFolds are the non-ASCII letters that a case-insensitive comparison
// equates with ASCII text: under Unicode simple or full case folding, or
// through their upper or lower case (which Java's equalsIgnoreCase
// compares). TestASCIIFoldsComplete checks the list against every code
// point. Letters that NFKC alone turns into ASCII (fullwidth forms, most
// ligatures) are caught by the NFKC form too.
var asciiFolds = map[rune]string{
	'\u00df': "ss", // ß, full case folding
	'\u0130': "i",  // İ, lower case
	'\u0131': "i",  // ı, upper case I
	'\u017f': "s",  // ſ, long s
	'\u1e9e': "ss", // ẞ, full case folding
	'\u212a': "k",  // Kelvin sign
	'\ufb00': "ff",
	'\ufb01': "fi",
	'\ufb02': "fl",
	'\ufb03': "ffi",
	'\ufb04': "ffl",
	'\ufb05': "st",
	'\ufb06': "st",
}

// foldToASCII replaces the letters of asciiFolds with their ASCII text.
func foldToASCII(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if a, ok := asciiFolds[r]; ok {
			b.WriteString(a)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// trimSegments drops trailing dots and spaces from every segment, as IIS
// and Windows do, then resolves the "." and ".." segments that leaves
// (". " is ".", ".. " is ".."), never above the path's start.
func trimSegments(s string) string {
	if !strings.Contains(s, ".") && !strings.Contains(s, " ") {
		return s
	}
	segs := strings.Split(s, "/")
	out := make([]string, 0, len(segs))
	for i, seg := range segs {
		t := strings.TrimRight(seg, ". ")
		if t == "" && seg != "" {
			// Only dots and spaces: ".." (with trailing spaces) is the
			// parent, anything else the directory itself.
			if strings.TrimRight(seg, " ") == ".." && len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
			continue
		}
		out = append(out, t)
	}
	return strings.Join(out, "/")
}
