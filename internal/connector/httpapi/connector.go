package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
	"github.com/warden-dev/warden/internal/redact"
)

type limits struct {
	responseBytes int64
	timeout       time.Duration
	perMinute     int
}

// Connector is the http connector. Create it with [New].
type Connector struct {
	resource string
	origin   *url.URL // scheme and host[:port] of the base URL
	basePath string   // the boundary, ending in "/"
	auth     *Auth
	authName string // the header (canonical) or query parameter Warden sets
	// transport makes the exchanges; redirects are followed by Execute,
	// so no client parses a Location first.
	transport *http.Transport
	redactor  *redact.Redactor
	limits    limits
	rate      *window
	ops       []core.Operation
	api       map[string]*apiOperation // OpenAPI operations by op name

	mu     sync.Mutex
	closed bool
}

// New checks a resource's configuration and builds its client. It makes
// no connection. The policy's secrets, host.Secrets, are redacted from
// what it returns besides the resource's own credential.
func New(spec *core.ResourceSpec, host core.Host) (*Connector, error) {
	const op = "http.New"
	if spec == nil {
		return nil, core.E(op, core.KindInvalid, "", "no resource given", nil)
	}
	s, _ := spec.Config.(*Config)
	if spec.Kind != kindName || s == nil {
		return nil, core.Errorf(op, core.KindInvalid, "", "resource %q is not an http resource", spec.Name)
	}
	base, err := ParseBaseURL(s.BaseURL, s.AllowPrivate)
	if err != nil {
		// The engine names the resource; the cause is the operator's.
		return nil, core.E(op, core.KindInvalid, "", "The resource's connection settings are not valid.", err)
	}
	c := &Connector{
		resource: spec.Name,
		origin:   &url.URL{Scheme: base.Scheme, Host: base.Host},
		basePath: basePath(base),
		auth:     s.Auth,
		limits:   limits{responseBytes: s.Limits.MaxResponseBytes, timeout: s.Limits.Timeout, perMinute: s.Limits.CallsPerMinute},
	}
	if c.limits.responseBytes <= 0 {
		c.limits.responseBytes = defaultResponseBytes
	}
	if c.limits.timeout <= 0 {
		c.limits.timeout = defaultTimeout
	}
	if c.limits.perMinute > 0 {
		c.rate = newWindow(c.limits.perMinute, time.Minute)
	}
	c.redactor, c.authName = credentialForms(s.Auth)
	// The policy's other secrets too: a body is cut at the response limit
	// after redaction, and a cut must not leave the start of any of them.
	var others []string
	for _, sec := range host.Secrets {
		others = append(others, sec.Reveal())
	}
	c.redactor = c.redactor.Add(others...)
	if c.transport, err = newTransport(s); err != nil {
		// The engine names the resource; the cause is the operator's.
		return nil, core.E(op, core.KindInvalid, "", "The resource's connection settings are not valid.", err)
	}
	if s.OpenAPI != "" {
		if err := c.loadOpenAPI(s.OpenAPI); err != nil {
			return nil, core.E(op, core.KindInvalid, "", "The resource's OpenAPI document cannot be used.", err)
		}
	} else {
		c.ops = []core.Operation{requestOperation(c.origin.String()+c.basePath, c.limits)}
	}
	return c, nil
}

// ParseBaseURL checks a base URL: http or https, a canonical host that is
// not a blocked address unless allow covers it, no credentials, query or
// fragment.
func ParseBaseURL(s string, allow []netip.Prefix) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("base_url is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("base_url must use https (or http)")
	case u.Opaque != "" || u.Host == "":
		return nil, fmt.Errorf("base_url has no host")
	case u.User != nil:
		return nil, fmt.Errorf("base_url must not contain credentials; use auth: with a secret reference")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("base_url must not have a query or fragment")
	case strings.ContainsAny(s, "\\\t\r\n "):
		return nil, fmt.Errorf("base_url contains a backslash, space or control character")
	}
	if err := netguard.CheckHost(u.Hostname(), u.Port(), allow); err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			return nil, fmt.Errorf("base_url: %v; list it in allow_private to reach it deliberately", err)
		}
		return nil, fmt.Errorf("base_url: %v", err)
	}
	if _, _, err := resolvePath("/", u.EscapedPath()); err != nil && u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("base_url path: %v", err)
	}
	u.Host = strings.ToLower(u.Host)
	return u, nil
}

// Operations implements core.Connector.
func (c *Connector) Operations() []core.Operation { return slices.Clone(c.ops) }

// Close releases idle connections. Calls after Close fail.
func (c *Connector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.transport.CloseIdleConnections()
	}
	return nil
}

// request is a prepared call: inv.State.
type request struct {
	method  string
	path    string // decoded, what the policy decided
	escaped string // on the wire
	query   url.Values
	header  http.Header // the agent's headers, checked
	body    []byte
	// bodyType is the Content-Type Warden sends when the agent set none.
	bodyType string
}

// Prepare implements core.Connector: it builds the request the call would
// send and names its method, path, query, headers and body size for the
// policy. Nothing is sent.
func (c *Connector) Prepare(ctx context.Context, inv *core.Invocation) error {
	const op = "http.prepare"
	var r *request
	var err error
	if a := c.api[inv.Op]; a != nil {
		r, err = c.prepareAPI(a, inv)
	} else if inv.Op == OpRequest && c.api == nil {
		r, err = c.prepareRequest(inv)
	} else {
		return core.Errorf(op, core.KindInvalid, core.ReasonInvalidArguments, "Unknown operation %q.", inv.Op)
	}
	if err != nil {
		var ce *core.Error
		if errors.As(err, &ce) {
			return err
		}
		return core.E(op, core.KindInvalid, core.ReasonRequestRefused, "The request was refused: "+c.redactor.String(err.Error())+".", nil)
	}
	detail := &Detail{
		Query:     slices.Sorted(maps.Keys(r.query)),
		Headers:   slices.Sorted(maps.Keys(r.header)),
		BodyBytes: int64(len(r.body)),
	}
	inv.Path, inv.Action, inv.ReadOnly, inv.Detail, inv.State = r.path, r.method, safeMethod(r.method), detail, r
	return nil
}

// requestArgs are the generic operation's arguments. The query's values
// and a body that is not a string are sent as written: Prepare reads them
// from the JSON text (args.go).
type requestArgs struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]any    `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

func (c *Connector) prepareRequest(inv *core.Invocation) (*request, error) {
	var a requestArgs
	if err := decodeArgs(inv, &a); err != nil {
		return nil, err
	}
	if a.Method == "" {
		return nil, core.Errorf("http.prepare", core.KindInvalid, core.ReasonInvalidArguments, "Give the method: one of %s.", strings.Join(methods, ", "))
	}
	if !slices.Contains(methods, a.Method) {
		return nil, fmt.Errorf("unknown method %q; use one of %s", a.Method, strings.Join(methods, ", "))
	}
	var want []string
	queryNumbers := hasNumber(a.Query)
	if queryNumbers {
		want = append(want, "query")
	}
	_, textBody := a.Body.(string)
	if a.Body != nil && !textBody {
		want = append(want, "body")
	}
	exact, err := members(inv.Args, want...)
	if err != nil {
		return nil, notExact(err)
	}
	q := a.Query
	if queryNumbers {
		v, err := exactValue(exact["query"], map[string]any(a.Query))
		if err != nil {
			return nil, notExact(err)
		}
		q = v.(map[string]any)
		if len(q) != len(a.Query) {
			return nil, notExact(errNotExact)
		}
		for k := range q {
			if _, ok := a.Query[k]; !ok {
				return nil, notExact(errNotExact)
			}
		}
	}
	query := url.Values{}
	for k, v := range q {
		vals, err := queryValues(k, v)
		if err != nil {
			return nil, err
		}
		query[k] = vals
	}
	var body *payload
	switch {
	case textBody:
		body = &payload{[]byte(a.Body.(string)), "text/plain; charset=utf-8"}
	case a.Body != nil:
		b, err := compactJSON(exact["body"], a.Body)
		if err != nil {
			return nil, notExact(err)
		}
		body = &payload{b, "application/json"}
	}
	return c.build(a.Method, a.Path, query, a.Headers, body)
}

// queryValues checks one query parameter: a scalar, or an array of them,
// with any number as written (json.Number).
func queryValues(name string, v any) ([]string, error) {
	if v == nil {
		return nil, fmt.Errorf("the query parameter %s has no value; leave it out instead", name)
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := scalarText(item)
		if !ok {
			return nil, fmt.Errorf("the query parameter %s must be a string, number, boolean or an array of them", name)
		}
		if err := checkText("value of query parameter "+name, s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// payload is a request body and the Content-Type Warden sends with it
// when the agent set none.
type payload struct {
	data  []byte
	ctype string
}

// build assembles and checks a request from its parts; every operation
// goes through it. body is nil for none.
func (c *Connector) build(method, path string, query url.Values, headers map[string]string, body *payload) (*request, error) {
	r := &request{method: method, query: query, header: http.Header{}}
	var err error
	if r.path, r.escaped, err = resolvePath(c.basePath, path); err != nil {
		return nil, err
	}
	authParam := ""
	if c.auth != nil && c.auth.Scheme == "query" {
		authParam = c.auth.Name
	}
	for k := range query {
		if err := checkQueryName(k, authParam); err != nil {
			return nil, err
		}
	}
	if len(headers) > maxHeaders {
		return nil, fmt.Errorf("%d headers; the limit is %d", len(headers), maxHeaders)
	}
	authHeader := ""
	if c.auth != nil {
		authHeader = c.authName
	}
	for k, v := range headers {
		canon, err := checkHeader(k, v, authHeader)
		if err != nil {
			return nil, err
		}
		if r.header[canon] != nil {
			return nil, fmt.Errorf("the header %s is given twice", canon)
		}
		r.header[canon] = []string{v}
	}
	if body != nil {
		if method == "GET" || method == "HEAD" {
			return nil, fmt.Errorf("a %s request has no body", method)
		}
		r.body, r.bodyType = body.data, body.ctype
		if r.body == nil {
			r.body = []byte{}
		}
	}
	return r, nil
}

// Execute implements core.Connector: it sends the prepared request,
// follows redirects the policy allows, and returns the response.
func (c *Connector) Execute(ctx context.Context, inv *core.Invocation, scope core.Scope) (*core.Result, error) {
	const op = "http.execute"
	r, ok := inv.State.(*request)
	if !ok {
		return nil, core.E(op, core.KindInternal, core.ReasonInternal, "", errors.New("not prepared"))
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, core.E(op, core.KindUnavailable, core.ReasonInternal, "The resource is closed.", nil)
	}
	if c.rate != nil && !c.rate.allow(time.Now()) {
		return nil, core.Errorf(op, core.KindDenied, core.ReasonRateLimited, "Rate limit reached: resource %q takes %d calls a minute. Wait before calling again.", c.resource, c.limits.perMinute)
	}
	ctx, cancel := context.WithTimeout(ctx, c.limits.timeout)
	defer cancel()

	method, escaped, query := r.method, r.escaped, r.query
	var hops []string
	for {
		resp, err := c.send(ctx, method, escaped, query, r)
		if err != nil {
			return nil, c.sendError(ctx, err)
		}
		next, why := c.redirect(resp, method, scope)
		if next == nil {
			if why != "" {
				resp.Body.Close()
				return nil, core.Errorf(op, core.KindDenied, core.ReasonRedirectRefused, "The API answered %d with a redirect Warden did not follow: %s. Nothing more was sent.", resp.StatusCode, c.redactor.String(why))
			}
			res, err := c.result(ctx, resp, hops)
			resp.Body.Close()
			return res, err
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if len(hops) == maxRedirects {
			return nil, core.Errorf(op, core.KindDenied, core.ReasonRedirectRefused, "The API redirected more than %d times; Warden stopped following.", maxRedirects)
		}
		hops = append(hops, c.redactor.String(next.path))
		escaped, query = next.escaped, next.query
	}
}

// send makes one HTTP exchange.
func (c *Connector) send(ctx context.Context, method, escaped string, query url.Values, r *request) (*http.Response, error) {
	u := *c.origin
	u.RawPath = escaped
	u.Path, _ = url.PathUnescape(escaped)
	q := query
	if c.auth != nil && c.auth.Scheme == "query" {
		q = cloneValues(query)
		q.Set(c.auth.Name, c.auth.Secret.Reveal())
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.bodyType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", r.bodyType)
	}
	req.Header.Set("User-Agent", "warden")
	if c.auth != nil {
		switch c.auth.Scheme {
		case "header":
			req.Header.Set(c.auth.Name, c.auth.Secret.Reveal())
		case "bearer":
			req.Header.Set("Authorization", "Bearer "+c.auth.Secret.Reveal())
		case "basic":
			req.SetBasicAuth(c.auth.Name, c.auth.Secret.Reveal())
		}
	}
	return c.transport.RoundTrip(req)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+1)
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// credentialForms returns a redactor for every form the credential can
// take on the wire, and the header or parameter name Warden sets.
func credentialForms(a *Auth) (*redact.Redactor, string) {
	if a == nil {
		return redact.New(), ""
	}
	v := a.Secret.Reveal()
	switch a.Scheme {
	case "header":
		return redact.New(v), http.CanonicalHeaderKey(a.Name)
	case "query":
		return redact.New(v, url.QueryEscape(v)), a.Name
	case "bearer":
		return redact.New(v, "Bearer "+v), "Authorization"
	case "basic":
		pair := a.Name + ":" + v
		return redact.New(v, pair, base64.StdEncoding.EncodeToString([]byte(pair))), "Authorization"
	}
	return redact.New(v), ""
}
