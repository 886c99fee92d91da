package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
)

// maxBinaryBytes is the largest binary body returned (as base64).
const maxBinaryBytes = 256 << 10

// shownHeaders are the response headers the agent sees; others (cookies,
// server internals) stay with Warden.
var shownHeaders = []string{
	"Allow", "Cache-Control", "Content-Disposition", "Content-Language", "Content-Length", "Content-Range",
	"Content-Type", "Date", "Etag", "Expires", "Last-Modified", "Link", "Location", "Retry-After",
	"Www-Authenticate", "X-Request-Id",
}

// Response is what a call returns.
type Response struct {
	Status     int               `json:"status"`
	StatusText string            `json:"status_text"`
	Headers    map[string]string `json:"headers,omitempty"`
	// Exactly one of JSON, Text and Base64 holds the body, if any. It goes
	// to the agent as the result's content (see [Response.content]), not
	// inside this value's JSON.
	JSON   json.RawMessage `json:"-"`
	Text   *string         `json:"-"`
	Base64 string          `json:"-"`
	// Bytes is how many body bytes were read.
	Bytes     int64  `json:"bytes"`
	Truncated bool   `json:"truncated,omitempty"`
	Omitted   string `json:"omitted,omitempty"`
	// Redirects lists the paths of redirects followed, in order.
	Redirects []string `json:"redirects,omitempty"`
}

// result reads a response within the limits and shapes it for the agent,
// with the credential in any encoding redacted.
func (c *Connector) result(ctx context.Context, resp *http.Response, hops []string) (*core.Result, error) {
	out := &Response{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode), Headers: map[string]string{}, Redirects: hops}
	for _, h := range shownHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			out.Headers[h] = c.redactor.String(strings.Join(v, ", "))
		}
	}
	for k, v := range resp.Header {
		if strings.HasPrefix(k, "X-Ratelimit-") || strings.HasPrefix(k, "Ratelimit") {
			out.Headers[k] = c.redactor.String(strings.Join(v, ", "))
		}
	}
	// Read past the limit by the longest form of the credential, redact,
	// and only then cut: a cut must never leave part of a secret behind.
	margin := int64(c.redactor.Longest())
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.limits.responseBytes+margin+1))
	if err != nil {
		return nil, c.sendError(ctx, err)
	}
	out.Truncated = int64(len(body)) > c.limits.responseBytes
	body = c.redactor.Bytes(body)
	if int64(len(body)) > c.limits.responseBytes {
		body = body[:c.limits.responseBytes]
	}
	out.Bytes = int64(len(body))
	if len(body) == 0 {
		return &core.Result{Value: out, Bytes: out.Bytes}, nil
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		// Go decodes the gzip it asked for; any other encoding would hide
		// the body, and a credential in it, from redaction.
		out.Omitted = "body in Content-Encoding " + enc + ", which Warden does not decode"
		return &core.Result{Value: out, Bytes: out.Bytes, Truncated: out.Truncated}, nil
	}
	media, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var compact bytes.Buffer
	switch {
	case isJSON(media) && !out.Truncated && json.Compact(&compact, body) == nil:
		// Compact also validates: invalid JSON falls to the text case.
		out.JSON = compact.Bytes()
	case isText(media) || (media == "" || isJSON(media)) && utf8.Valid(body):
		s := strings.ToValidUTF8(string(body), "\uFFFD")
		out.Text = &s
	case len(body) <= maxBinaryBytes:
		out.Base64 = base64.StdEncoding.EncodeToString(body)
	default:
		out.Omitted = "binary body over the 256 KiB base64 limit"
	}
	return &core.Result{Value: out, Content: out.content(), Bytes: out.Bytes, Truncated: out.Truncated}, nil
}

// content returns the body as the result's content, named as the agent
// knows it: json, text or base64.
func (r *Response) content() *core.Content {
	switch {
	case r.JSON != nil:
		return &core.Content{Field: "json", Text: string(r.JSON), JSON: true}
	case r.Text != nil:
		return &core.Content{Field: "text", Text: *r.Text}
	case r.Base64 != "":
		return &core.Content{Field: "base64", Text: r.Base64}
	}
	return nil
}

func isJSON(media string) bool {
	return media == "application/json" || strings.HasSuffix(media, "+json")
}

func isText(media string) bool {
	switch {
	case strings.HasPrefix(media, "text/"), strings.HasSuffix(media, "+xml"):
		return true
	}
	switch media {
	case "application/xml", "application/javascript", "application/x-www-form-urlencoded", "application/x-ndjson", "application/yaml":
		return true
	}
	return false
}
