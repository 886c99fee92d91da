package egress

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// Reason codes of the proxy's own refusals, beside the engine's.
const (
	reasonNotProxy core.Reason = "not-a-proxy-request" // a request for the proxy itself, or in a form it does not take
	reasonNoRoute  core.Reason = core.ReasonNoGrant
)

// Response headers the proxy adds.
const (
	headerReason    = "X-Warden-Reason"
	headerAudit     = "X-Warden-Audit-Id"
	headerApproval  = "X-Warden-Approval-Id"
	headerTruncated = "X-Warden-Truncated"
)

// dropped are request headers that belong to the client's connection to
// the proxy, or that Warden sets itself on the way out: they are removed,
// not sent to the tool (which would refuse the request for them).
var dropped = map[string]bool{
	"Connection": true, "Proxy-Connection": true, "Keep-Alive": true, "Proxy-Authorization": true,
	"Proxy-Authenticate": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Accept-Encoding": true, "User-Agent": true, "Expect": true,
}

// toolArgs are the http tool's arguments.
type toolArgs struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]any    `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    *string           `json:"body,omitempty"`
}

// forward turns one proxied request to u into a call of the agent's http
// tool and writes what the call returned.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, u *url.URL) {
	asked := u.Scheme + "://" + u.Host
	if u.User != nil {
		p.refuse(w, r, http.StatusForbidden, refusal{action: r.Method, target: asked, reason: core.ReasonRequestRefused,
			msg: "The URL carries credentials; Warden adds the resource's credential itself."})
		return
	}
	rt := forURL(p.routes, u)
	if rt == nil {
		p.refuse(w, r, http.StatusForbidden, refusal{action: r.Method, target: asked, url: u, reason: reasonNoRoute,
			msg: "No resource granted to this agent covers " + shown(asked+u.EscapedPath()) + "."})
		return
	}
	if rt.tool == "" {
		p.refuse(w, r, http.StatusForbidden, refusal{action: r.Method, target: asked, resource: rt.resource, reason: reasonNoRoute,
			msg: "The resource at this URL is reached through its API operations, not through the proxy."})
		return
	}
	args, status, why := toolArgsOf(r, u, p.eng.Policy().Settings().MaxArgumentBytes)
	if why != "" {
		reason := core.ReasonRequestRefused
		if status == http.StatusRequestEntityTooLarge {
			reason = core.ReasonTooLarge
		}
		p.refuse(w, r, status, refusal{action: r.Method, target: asked, resource: rt.resource, reason: reason, msg: why})
		return
	}
	out := p.eng.Call(r.Context(), core.Call{Agent: p.agent, Tool: rt.tool, Args: args}, engine.CallOptions{})
	p.write(w, r, out)
}

// toolArgsOf maps a request onto the tool's arguments, its body at most
// limit bytes. On refusal it returns the status and one sentence.
func toolArgsOf(r *http.Request, u *url.URL, limit int64) (json.RawMessage, int, string) {
	if !slices.Contains(forwarded, r.Method) {
		return nil, http.StatusMethodNotAllowed, "The proxy forwards GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS only."
	}
	a := toolArgs{Method: r.Method, Path: u.EscapedPath()}
	if a.Path == "" {
		a.Path = "/"
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return nil, http.StatusBadRequest, "The query string is malformed."
		}
		a.Query = make(map[string]any, len(q))
		for k, vs := range q {
			// JSON would replace bytes that are not UTF-8, and the API
			// would get another value than the client sent.
			if !utf8.ValidString(k) || !allValid(vs) {
				return nil, http.StatusBadRequest, "The query string is not UTF-8 once decoded."
			}
			if len(vs) == 1 {
				a.Query[k] = vs[0]
				continue
			}
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			a.Query[k] = list
		}
	}
	// Hop-by-hop headers, including those the client names in Connection.
	hop := map[string]bool{}
	for _, v := range r.Header.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			hop[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(f))] = true
		}
	}
	for k, vs := range r.Header {
		// net/http gives canonical names; a caller may not.
		k = textproto.CanonicalMIMEHeaderKey(k)
		if dropped[k] || hop[k] || strings.HasPrefix(k, "Proxy-") {
			continue
		}
		if !utf8.ValidString(k) || !allValid(vs) {
			return nil, http.StatusBadRequest, "A request header is not UTF-8."
		}
		if a.Headers == nil {
			a.Headers = map[string]string{}
		}
		sep := ", "
		if k == "Cookie" {
			sep = "; "
		}
		a.Headers[k] = strings.Join(vs, sep)
	}
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, "The request body is over " + strconv.FormatInt(limit, 10) + " bytes, the limit."
	}
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, http.StatusBadRequest, "The request body could not be read."
		}
		if int64(len(body)) > limit {
			return nil, http.StatusRequestEntityTooLarge, "The request body is over " + strconv.FormatInt(limit, 10) + " bytes, the limit."
		}
		if len(body) > 0 {
			if !utf8.Valid(body) {
				return nil, http.StatusUnsupportedMediaType, "The request body is not UTF-8 text; the proxy forwards text and JSON bodies only."
			}
			s := string(body)
			a.Body = &s
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(a); err != nil {
		return nil, http.StatusBadRequest, "The request cannot be forwarded."
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), 0, ""
}

// forwarded are the methods the http tool takes.
var forwarded = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

func allValid(vs []string) bool {
	for _, v := range vs {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// response is the part of the tool's result the proxy writes back.
type response struct {
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	Truncated bool              `json:"truncated"`
	Omitted   string            `json:"omitted"`
}

// write answers the client from a call's outcome.
func (p *Proxy) write(w http.ResponseWriter, r *http.Request, out *engine.Outcome) {
	h := w.Header()
	if out.AuditID != "" {
		h.Set(headerAudit, out.AuditID)
	}
	if out.Status != engine.StatusOK {
		code := http.StatusForbidden
		if out.Status == engine.StatusFailed {
			code = http.StatusBadGateway
			if out.Reason == core.ReasonTimeout {
				code = http.StatusGatewayTimeout
			}
		}
		if out.ApprovalID != "" {
			h.Set(headerApproval, out.ApprovalID)
		}
		if out.Err != nil {
			p.log.Info("egress: request refused", "agent", p.agent, "reason", out.Reason, "err", out.Err)
		}
		plain(w, code, out.Reason, out.Message)
		return
	}
	var resp response
	if err := json.Unmarshal(out.Meta, &resp); err != nil || resp.Status < 200 || resp.Status > 999 {
		plain(w, http.StatusBadGateway, core.ReasonUpstreamFailed, "The API's answer could not be passed on.")
		return
	}
	if resp.Omitted != "" {
		plain(w, http.StatusBadGateway, core.ReasonTooLarge, "The API's answer was withheld: "+resp.Omitted+".")
		return
	}
	var body []byte
	if c := out.Content; c != nil {
		if c.Field == "base64" {
			b, err := base64.StdEncoding.DecodeString(c.Text)
			if err != nil {
				plain(w, http.StatusBadGateway, core.ReasonUpstreamFailed, "The API's answer could not be passed on.")
				return
			}
			body = b
		} else {
			body = []byte(c.Text)
		}
	}
	for k, v := range resp.Headers {
		if k != "Content-Length" {
			h.Set(k, v)
		}
	}
	if resp.Truncated {
		h.Set(headerTruncated, "true")
	}
	noBody := r.Method == http.MethodHead || resp.Status == http.StatusNoContent || resp.Status == http.StatusNotModified
	if r.Method == http.MethodHead {
		if v, ok := resp.Headers["Content-Length"]; ok {
			h.Set("Content-Length", v)
		}
	} else if !noBody {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(resp.Status)
	if !noBody {
		w.Write(body)
	}
}

// plain writes a refusal: one sentence and its reason code.
func plain(w http.ResponseWriter, code int, reason core.Reason, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set(headerReason, string(reason))
	h.Set("Content-Length", strconv.Itoa(len(msg)+1))
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// refusal is a request the proxy refuses before any tool call.
type refusal struct {
	action   string // the method, or "CONNECT"
	target   string // the host (scheme://host[:port] or host:port) asked for
	url      *url.URL
	resource string
	reason   core.Reason
	msg      string
}

// refuse records a refusal in the audit log and answers it.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, code int, f refusal) {
	if id := p.record(r.Context(), f, "deny", "not_run", nil); id != "" {
		w.Header().Set(headerAudit, id)
	}
	if r.Body != nil {
		drain(r.Body)
	}
	plain(w, code, f.reason, f.msg)
}

// record appends an egress event and returns its id, or "" when the log
// cannot take it (the request is refused or the tunnel closed anyway).
func (p *Proxy) record(ctx context.Context, f refusal, decision, outcome string, detail map[string]any) string {
	rec := &audit.Record{
		Event: "egress", Agent: p.agent, Resource: f.resource, Action: shown(f.action), Path: shown(f.target),
		Decision: decision, Outcome: outcome, Detail: detail,
	}
	if f.reason != "" {
		rec.Reasons = []string{string(f.reason)}
	}
	if f.url != nil {
		if rec.Detail == nil {
			rec.Detail = map[string]any{}
		}
		// The path only: a query may carry what the agent should not have
		// sent, and the audit log is not the place to keep it.
		rec.Detail["url"] = shown(f.url.Scheme + "://" + f.url.Host + f.url.EscapedPath())
	}
	id, err := p.eng.Record(ctx, rec)
	if err != nil {
		p.log.Error("egress: audit append failed", "agent", p.agent, "target", shown(f.target), "err", err)
		return ""
	}
	return id
}
