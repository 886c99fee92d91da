package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// hop is where a followed redirect goes.
type hop struct {
	path    string
	escaped string
	query   url.Values
}

// redirect decides a response: nil and "" when it is the answer (not a
// redirect, or one that changes the method, which is returned as it is),
// nil and a reason when it is a redirect that must not be followed, or the
// next hop. Only same-origin targets under the base path, that the policy
// allows for the same method, are followed.
func (c *Connector) redirect(resp *http.Response, method string, scope core.Scope) (*hop, string) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		if method != "GET" && method != "HEAD" {
			return nil, "" // would turn into a GET: the agent decides
		}
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, ""
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, ""
	}
	if strings.ContainsAny(loc, "\\\r\n\t\x00") {
		return nil, "its Location is malformed"
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, "its Location is not a URL"
	}
	cur := *resp.Request.URL
	cur.RawQuery = "" // Warden's own parameters never carry over
	to := cur.ResolveReference(ref)
	switch {
	case to.Scheme != c.origin.Scheme && c.origin.Scheme == "https":
		return nil, "it leaves TLS"
	case to.Scheme != c.origin.Scheme || !strings.EqualFold(to.Host, c.origin.Host) || to.User != nil:
		return nil, "it leads to another host than the base URL's"
	}
	path, escaped, err := resolvePath(c.basePath, to.EscapedPath())
	if err != nil {
		return nil, "its path is refused: " + err.Error()
	}
	if scope == nil || !scope.Visible(path) {
		return nil, "no grant allows " + method + " " + path
	}
	q, err := url.ParseQuery(to.RawQuery)
	if err != nil {
		return nil, "its query is malformed"
	}
	if c.auth != nil && c.auth.Scheme == "query" {
		q.Del(c.auth.Name)
	}
	return &hop{path: path, escaped: escaped, query: q}, ""
}
