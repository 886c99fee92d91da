package httpapi

import (
	"fmt"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// basePath returns the base URL's path as the boundary every request
// stays under: always ending in "/" ("/v1" and "/v1/" both give "/v1/").
func basePath(u *url.URL) string {
	p := u.Path
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// resolvePath turns the agent's path into the full URL path the request
// goes to, decoded (what the policy matches), and its canonical escaped
// form (what goes on the wire). The agent's path is relative to the base
// path ("forecast", "items/42"), or absolute and then must start with the
// base path ("/v1/forecast"). It is decoded once: "%20" is a space, and a
// decoded "/", "\" or "." that would change the path's structure is
// refused, as are dot segments, empty segments, control bytes and
// anything left encoded twice.
func resolvePath(base, p string) (decoded, escaped string, err error) {
	if len(p) > maxPathBytes {
		return "", "", fmt.Errorf("the path is %d bytes; the limit is %d", len(p), maxPathBytes)
	}
	if strings.ContainsAny(p, "?#") {
		return "", "", fmt.Errorf("the path contains ? or #; send query parameters in query")
	}
	if strings.Contains(p, `\`) {
		return "", "", fmt.Errorf("the path contains a backslash")
	}
	rel := p
	if strings.HasPrefix(p, "/") {
		if p+"/" == base {
			rel = ""
		} else if r, ok := strings.CutPrefix(p, base); ok {
			rel = r
		} else {
			return "", "", fmt.Errorf("the path %q is outside the base path %s; give it relative to the base, such as \"forecast\"", p, base)
		}
	}
	if rel == "" {
		return base, escapeSegments(base), nil
	}
	segs := strings.Split(rel, "/")
	out := make([]string, len(segs))
	for i, s := range segs {
		if s == "" && i < len(segs)-1 {
			return "", "", fmt.Errorf("the path has an empty segment (//)")
		}
		d, err := decodeSegment(s)
		if err != nil {
			return "", "", err
		}
		out[i] = d
	}
	decoded = base + strings.Join(out, "/")
	return decoded, escapeSegments(decoded), nil
}

// decodeSegment percent-decodes one path segment and refuses what a server
// could read as structure.
func decodeSegment(s string) (string, error) {
	d, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("the path segment %q has a malformed %%-escape", s)
	}
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("the path segment %q is not valid UTF-8 once decoded", s)
	}
	for _, r := range d {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return "", fmt.Errorf("the path contains a control character")
		}
	}
	if strings.ContainsAny(d, `/\`) {
		return "", fmt.Errorf("the path segment %q encodes a slash or backslash", s)
	}
	// A dot segment, also as Tomcat reads "..;x", as a server that
	// normalises Unicode (NFKC) reads "．．" or "‥", and as IIS reads ". "
	// or ".. " (trailing dots and spaces dropped), never reaches a server.
	for _, form := range []string{d, norm.NFKC.String(d)} {
		name, _, _ := strings.Cut(form, ";")
		if strings.Trim(name, ". ") == "" && strings.Contains(name, ".") {
			return "", fmt.Errorf("the path has a . or .. segment (or one that Unicode normalisation turns into one); give the path without them")
		}
		if strings.ContainsAny(form, `/\`) {
			return "", fmt.Errorf("the path segment %q holds a character that Unicode normalisation turns into a slash or backslash", s)
		}
	}
	lower := strings.ToLower(d)
	for _, enc := range []string{"%2e", "%2f", "%5c", "%3b", "%3f", "%23", "%00", "%0a", "%0d"} {
		if strings.Contains(lower, enc) {
			return "", fmt.Errorf("the path segment %q is encoded twice (%s)", s, enc)
		}
	}
	return d, nil
}

// escapeSegments percent-encodes a decoded path segment by segment, so no
// byte of a segment can be read as a separator.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// Headers an agent may never set: they pick the destination, carry or
// forge credentials and identity, change the method behind the policy's
// back, or belong to the connection (hop-by-hop).
var refusedHeaders = []string{
	"Host", "Authorization", "Proxy-Authorization", "Proxy-Connection", "Proxy-Authenticate",
	"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Expect",
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port",
	"X-Forwarded-Prefix", "X-Forwarded-Server", "X-Real-Ip", "X-Client-Ip", "True-Client-Ip",
	"X-Original-Url", "X-Rewrite-Url", "X-Original-Host", "X-Host",
	"X-Http-Method-Override", "X-Http-Method", "X-Method-Override",
	"Cookie2", "Max-Forwards", "Via",
	// Warden reads whole bodies so it can redact them: ranges would return
	// a credential in pieces, and compression would hide it.
	"Range", "If-Range", "Accept-Encoding",
}

// checkHeader validates one agent header and returns its canonical name.
func checkHeader(name, value, authHeader string) (string, error) {
	if !validToken(name) {
		return "", fmt.Errorf("%q is not a valid header name", name)
	}
	if strings.Contains(name, "_") {
		// CGI-style servers read X_Forwarded_For as X-Forwarded-For.
		return "", fmt.Errorf("the header name %q contains an underscore, which some servers read as a hyphen; write it with hyphens", name)
	}
	canon := textproto.CanonicalMIMEHeaderKey(name)
	if slices.Contains(refusedHeaders, canon) || strings.HasPrefix(canon, "Proxy-") || strings.HasPrefix(canon, "Sec-") || canon == authHeader {
		return "", fmt.Errorf("the header %s is set by Warden or the connection and may not be sent", canon)
	}
	if len(value) > maxHeaderBytes {
		return "", fmt.Errorf("the header %s is %d bytes; the limit is %d", canon, len(value), maxHeaderBytes)
	}
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("the header %s is not valid UTF-8", canon)
	}
	for _, r := range value {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return "", fmt.Errorf("the header %s contains a control character (CR, LF, NUL, …)", canon)
		}
	}
	return canon, nil
}

// checkQueryName validates one query parameter name.
func checkQueryName(name, authParam string) error {
	if name == "" {
		return fmt.Errorf("a query parameter has an empty name")
	}
	if name == authParam {
		return fmt.Errorf("the query parameter %s is set by Warden and may not be sent", name)
	}
	return checkText("query parameter "+name, name)
}

// checkText refuses control characters in a query name or value. Encoding
// would make them harmless on the wire, but they have no business there
// and some servers decode them into logs and headers.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("the %s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("the %s contains a control character (CR, LF, NUL, …)", what)
		}
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token, as header names are.
func validToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}
