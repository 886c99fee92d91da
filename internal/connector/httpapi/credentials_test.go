package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// The credential and the basic-auth user. The secret has characters that
// every encoding changes (/ + = & % ~ !).
const (
	credSecret = "Sk_live/4xZq+9=&p%zT0k3n~!Wq"
	basicUser  = "svc-user"
)

// authCase is one way Warden adds the credential, and how the upstream
// checks it arrived.
type authCase struct {
	name     string
	auth     *Auth
	received func(r *http.Request) bool
}

func authCases() []authCase {
	secret := core.NewSecret("env:API_SECRET", credSecret)
	return []authCase{
		{"header", &Auth{Scheme: "header", Name: "X-Api-Key", Secret: secret}, func(r *http.Request) bool {
			return slices.Equal(r.Header.Values("X-Api-Key"), []string{credSecret})
		}},
		{"query", &Auth{Scheme: "query", Name: "api_key", Secret: secret}, func(r *http.Request) bool {
			return slices.Equal(r.URL.Query()["api_key"], []string{credSecret})
		}},
		{"bearer", &Auth{Scheme: "bearer", Secret: secret}, func(r *http.Request) bool {
			return slices.Equal(r.Header.Values("Authorization"), []string{"Bearer " + credSecret})
		}},
		{"basic", &Auth{Scheme: "basic", Name: basicUser, Secret: secret}, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == basicUser && p == credSecret && len(r.Header.Values("Authorization")) == 1
		}},
	}
}

// presented returns the credential as the upstream received it, in
// whatever the scheme: what an echoing API could reflect.
func presented(r *http.Request) string {
	if _, p, ok := r.BasicAuth(); ok {
		return p
	}
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return v
	}
	if v := r.Header.Get("X-Api-Key"); v != "" {
		return v
	}
	return r.URL.Query().Get("api_key")
}

// reflections are the strings an echoing upstream sends back: every header,
// the URL, the query, the body and the credential fields, each also in
// the encodings APIs and frameworks use.
func reflections(r *http.Request, body []byte) []string {
	var items []string
	for k, vs := range r.Header {
		for _, v := range vs {
			items = append(items, k+": "+v, v)
			items = append(items, strings.Fields(v)...)
		}
	}
	items = append(items, r.URL.String(), r.RequestURI, r.URL.RawQuery, r.Host, string(body))
	for k, vs := range r.URL.Query() {
		items = append(items, k)
		items = append(items, vs...)
	}
	if u, p, ok := r.BasicAuth(); ok {
		items = append(items, u, p, u+":"+p)
	}
	out := slices.Clone(items)
	for _, it := range items {
		b := []byte(it)
		out = append(out,
			base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
			base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(it), url.PathEscape(it), lowerEscapes(url.QueryEscape(it)),
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)))
	}
	return out
}

// echo is an upstream that reflects everything it received, in the
// format its path names, in the body and in the headers Warden shows.
func echo(up **counter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		(*up).mu.Lock()
		body := (*up).bodies[len((*up).bodies)-1]
		(*up).mu.Unlock()
		refl := reflections(r, body)
		all := strings.Join(refl, "\n")
		h := w.Header()
		h.Set("Location", r.URL.String())
		h.Set("Content-Location", r.URL.String())
		h.Set("X-Request-Id", strings.Join(refl[:min(len(refl), 40)], " | "))
		h.Set("Link", "<"+r.RequestURI+`>; rel="self"`)
		h.Set("Www-Authenticate", `Basic realm="`+base64.StdEncoding.EncodeToString([]byte(all))+`"`)
		h.Set("X-Ratelimit-Echo", r.URL.RawQuery)
		h.Set("Retry-After", presented(r))
		h.Set("Content-Disposition", `attachment; filename="`+url.PathEscape(presented(r))+`"`)
		h.Set("Set-Cookie", "echo="+url.QueryEscape(presented(r)))
		status := http.StatusOK
		format := strings.TrimPrefix(r.URL.Path, "/v1/echo/")
		if f, ok := strings.CutSuffix(format, "/500"); ok {
			format, status = f, http.StatusInternalServerError
		}
		switch format {
		case "json", "problem":
			ct := "application/json"
			if format == "problem" {
				ct = "application/problem+json"
			}
			h.Set("Content-Type", ct)
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "url": r.URL.String(), "body": string(body), "reflections": refl})
		case "text", "html", "xml":
			h.Set("Content-Type", map[string]string{"text": "text/plain", "html": "text/html", "xml": "application/xml"}[format])
			w.WriteHeader(status)
			io.WriteString(w, all)
		case "binary":
			h.Set("Content-Type", "application/octet-stream")
			w.WriteHeader(status)
			w.Write(append([]byte{0xff, 0xfe, 0x00}, all...))
		default:
			http.NotFound(w, r)
		}
	}
}

// lowerEscapes writes the hex digits of every %XX in lower case, as some
// encoders do.
func lowerEscapes(s string) string {
	return percentHex.ReplaceAllStringFunc(s, strings.ToLower)
}

var percentHex = regexp.MustCompile(`%[0-9A-F]{2}`)

// leakCheck finds the credential in anything the agent or a log gets.
type leakCheck struct {
	forms   []string // whole encodings of the secret (and user:secret)
	windows []string // every 8-byte piece of the secret
}

func newLeakCheck() *leakCheck {
	lc := &leakCheck{}
	for _, v := range []string{credSecret, basicUser + ":" + credSecret} {
		b := []byte(v)
		lc.forms = append(lc.forms, v,
			base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
			base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			url.QueryEscape(v), url.PathEscape(v), lowerEscapes(url.QueryEscape(v)), lowerEscapes(url.PathEscape(v)),
			hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)))
	}
	const w = 8
	for i := 0; i+w <= len(credSecret); i++ {
		lc.windows = append(lc.windows, credSecret[i:i+w])
	}
	return lc
}

// find returns the forms and pieces of the secret in s.
func (lc *leakCheck) find(s string) []string {
	var found []string
	for _, f := range lc.forms {
		if strings.Contains(s, f) {
			found = append(found, f)
		}
	}
	if found != nil {
		return found
	}
	for _, f := range lc.windows {
		if strings.Contains(s, f) {
			return []string{f}
		}
	}
	return nil
}

// response checks everything the model can read from a result: its JSON
// encoding, every string in it once decoded, and the base64 body decoded
// (and decompressed, if it is gzip).
func (lc *leakCheck) response(t *testing.T, what string, res *Response) {
	t.Helper()
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{string(out)}
	var tree any
	if err := json.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	walkStrings(tree, func(s string) { texts = append(texts, s) })
	if res.Base64 != "" {
		raw, err := base64.StdEncoding.DecodeString(res.Base64)
		if err != nil {
			t.Fatalf("%s: base64 body: %v", what, err)
		}
		texts = append(texts, string(raw))
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			plain, _ := io.ReadAll(io.LimitReader(zr, 1<<20))
			texts = append(texts, string(plain))
		}
	}
	var found []string
	var where string
	for _, s := range texts {
		for _, f := range lc.find(s) {
			if !slices.Contains(found, f) {
				found, where = append(found, f), s
			}
		}
	}
	if found != nil {
		t.Errorf("%s: the result holds the credential as %q, e.g. in:\n%.600s", what, found, where)
	}
}

// err checks the error's log form and its model message.
func (lc *leakCheck) err(t *testing.T, what string, err error) {
	t.Helper()
	for _, s := range []string{core.MessageOf(err), err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if f := lc.find(s); f != nil {
			t.Errorf("%s: the error holds the credential as %q: %s", what, f, s)
			return
		}
	}
}

func walkStrings(v any, f func(string)) {
	switch x := v.(type) {
	case string:
		f(x)
	case []any:
		for _, e := range x {
			walkStrings(e, f)
		}
	case map[string]any:
		for k, e := range x {
			f(k)
			walkStrings(e, f)
		}
	}
}

// credConn is a connector with auth a on an echoing upstream.
func credConn(t *testing.T, a authCase, h func(up **counter) http.HandlerFunc, edit func(*Config)) (*Connector, *counter) {
	t.Helper()
	up := new(*counter)
	*up = newCounter(t, "127.0.0.1:0", h(up))
	c := newConn(t, spec((*up).URL+"/v1/", func(s *Config) {
		s.Auth = a.auth
		if edit != nil {
			edit(s)
		}
	}))
	return c, *up
}

// TestCredentialNeverReachesTheModel: the upstream echoes every header,
// the URL with its query and the body back, as JSON, text, XML, HTML and
// binary, in the body and in the headers Warden shows, also base64-,
// percent- and hex-encoded; the upstream did receive the credential, and
// the result holds none of it.
func TestCredentialNeverReachesTheModel(t *testing.T) {
	lc := newLeakCheck()
	for _, a := range authCases() {
		t.Run(a.name, func(t *testing.T) {
			c, up := credConn(t, a, echo, nil)
			for _, format := range []string{"json", "problem", "text", "html", "xml", "binary", "json/500", "text/500"} {
				for _, method := range []string{"GET", "POST"} {
					args := map[string]any{"method": method, "path": "echo/" + format, "query": map[string]any{"q": "v"}, "headers": map[string]string{"X-Trace": "t"}}
					if method == "POST" {
						args["body"] = map[string]any{"k": "v"}
					}
					what := a.name + " " + method + " " + format
					res, _, err := call(t, c, OpRequest, args, allowAll)
					if err != nil {
						t.Errorf("%s: %v", what, err)
						continue
					}
					if r, _ := up.last(t); !a.received(r) {
						t.Fatalf("%s: the upstream did not receive the credential: %v %s", what, r.Header, r.RequestURI)
					}
					if res.Bytes == 0 || (res.JSON == nil && res.Text == nil && res.Base64 == "") {
						t.Fatalf("%s: no body came back: %+v", what, res)
					}
					if !strings.Contains(res.Headers["X-Request-Id"], "[REDACTED]") {
						t.Errorf("%s: X-Request-Id %q: the echo did not hold the credential, the test proves nothing", what, res.Headers["X-Request-Id"])
					}
					lc.response(t, what, res)
				}
			}
		})
	}
}

// TestCredentialNotInErrors: when the exchange fails (the connection is
// dropped before or during the answer, the answer is too slow, a redirect
// is refused or malformed, the host is unreachable or its certificate
// untrusted), neither the error for the logs nor the model's message holds
// the credential; with query auth the URL does.
func TestCredentialNotInErrors(t *testing.T) {
	lc := newLeakCheck()
	release := make(chan struct{})
	handler := func(up **counter) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := presented(r)
			switch r.URL.Path {
			case "/v1/hangup":
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
			case "/v1/short":
				conn, buf, _ := w.(http.Hijacker).Hijack()
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\nX-Request-Id: %s\r\n\r\npartial %s", tok, url.QueryEscape(tok))
				buf.Flush()
				conn.Close()
			case "/v1/garbage":
				conn, buf, _ := w.(http.Hijacker).Hijack()
				fmt.Fprintf(buf, "HTTP/1.1 2%s OK\r\n\r\n", tok)
				buf.Flush()
				conn.Close()
			case "/v1/slow":
				select {
				case <-r.Context().Done():
				case <-release:
				}
			case "/v1/badloc":
				w.Header()["Location"] = []string{"/v1/%zz?api_key=" + tok + "&enc=" + url.QueryEscape(tok) + "&u=" + r.URL.String()}
				w.WriteHeader(http.StatusFound)
			case "/v1/elsewhere":
				w.Header().Set("Location", "http://127.0.0.2:1/v1/x?"+r.URL.RawQuery)
				w.WriteHeader(http.StatusFound)
			case "/v1/loop":
				w.Header().Set("Location", "/v1/loop?"+r.URL.RawQuery)
				w.WriteHeader(http.StatusFound)
			}
		}
	}
	t.Cleanup(func() { close(release) })
	for _, a := range authCases() {
		c, up := credConn(t, a, handler, func(s *Config) { s.Limits.Timeout = 300 * time.Millisecond })
		for _, p := range []string{"hangup", "short", "garbage", "slow", "badloc", "elsewhere", "loop"} {
			_, _, err := call(t, c, OpRequest, get(p), allowAll)
			if err == nil {
				t.Errorf("%s %s: succeeded", a.name, p)
				continue
			}
			if r, _ := up.last(t); !a.received(r) {
				t.Fatalf("%s %s: the upstream did not receive the credential", a.name, p)
			}
			t.Logf("%s %s: %v", a.name, p, err)
			lc.err(t, a.name+" "+p, err)
		}
	}
	// Nothing listens, and a certificate that is not trusted.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tlsUp, _ := newTLSCounter(t, nil)
	for _, a := range authCases() {
		for _, base := range []string{"http://" + closed + "/v1/", tlsUp.URL + "/v1/"} {
			c := newConn(t, spec(base, func(s *Config) { s.Auth = a.auth }))
			_, _, err := call(t, c, OpRequest, get("x"), allowAll)
			if err == nil {
				t.Fatalf("%s %s: succeeded", a.name, base)
			}
			t.Logf("%s %s: %v", a.name, base, err)
			lc.err(t, a.name+" "+base, err)
		}
	}
}

// TestCredentialInRedirectPath: an upstream that redirects to a path
// holding the credential it received (a canonical-URL redirect that
// copies the key into the path). The followed hop is listed in
// Redirects, and a refused one is named in the model's message: neither
// may hold the credential.
func TestCredentialInRedirectPath(t *testing.T) {
	lc := newLeakCheck()
	handler := func(up **counter) http.HandlerFunc {
		next := echo(up)
		return func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.URL.Path == "/v1/to-key":
				// The key as one path segment (its "/" escaped), and as
				// several.
				w.Header().Set("Location", "/v1/echo/json/"+url.PathEscape(presented(r)))
				w.WriteHeader(http.StatusTemporaryRedirect)
			case r.URL.Path == "/v1/to-key-raw":
				w.Header().Set("Location", "/v1/keys/"+presented(r))
				w.WriteHeader(http.StatusTemporaryRedirect)
			case r.URL.Path == "/v1/to-key-b64":
				// Path-safe encodings: the hop is followed.
				w.Header().Set("Location", "/v1/keys/"+base64.RawURLEncoding.EncodeToString([]byte(presented(r))))
				w.WriteHeader(http.StatusTemporaryRedirect)
			case r.URL.Path == "/v1/to-key-hex":
				w.Header().Set("Location", "/v1/keys/"+hex.EncodeToString([]byte(presented(r))))
				w.WriteHeader(http.StatusTemporaryRedirect)
			case strings.HasPrefix(r.URL.Path, "/v1/echo/json/"), strings.HasPrefix(r.URL.Path, "/v1/keys/"):
				io.WriteString(w, "landed") // the hop's own answer holds nothing
			default:
				next(w, r)
			}
		}
	}
	onlyEcho := core.ScopeFunc(func(p string) bool { return p == "/v1/echo/json" || strings.HasPrefix(p, "/v1/to-key") })
	for _, a := range authCases() {
		c, _ := credConn(t, a, handler, nil)
		for _, p := range []string{"to-key", "to-key-raw", "to-key-b64", "to-key-hex"} {
			what := a.name + " " + p
			res, _, err := call(t, c, OpRequest, get(p), allowAll)
			switch {
			case err != nil:
				lc.err(t, what+" (refused)", err)
			default:
				if len(res.Redirects) == 0 || res.Text == nil || *res.Text != "landed" {
					t.Errorf("%s: not redirected: %+v", what, res)
				}
				lc.response(t, what, res)
			}
			_, _, err = call(t, c, OpRequest, get(p), onlyEcho)
			if err == nil {
				t.Errorf("%s: a redirect the scope refuses was followed", what)
				continue
			}
			lc.err(t, what+" (scope refuses the hop)", err)
		}
	}
}

// TestCredentialAtTruncationBoundary: the response limit cuts the body
// before the credential is redacted, so an echo whose credential straddles
// the cut leaves its first bytes in the result. The agent places it there
// by padding what the upstream echoes before it.
func TestCredentialAtTruncationBoundary(t *testing.T) {
	const limit = 256
	lc := newLeakCheck()
	handler := func(up **counter) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "pad=%s\nauth=%s\nend\n", r.Header.Get("X-Pad"), presented(r))
		}
	}
	for _, a := range authCases() {
		c, up := credConn(t, a, handler, func(s *Config) { s.Limits.MaxResponseBytes = limit })
		// The credential starts this many bytes before the cut.
		for _, before := range []int{1, 8, 12, len(credSecret) - 1} {
			pad := strings.Repeat("p", limit-before-len("pad=\nauth="))
			args := get("echo")
			args["headers"] = map[string]string{"X-Pad": pad}
			res, _, err := call(t, c, OpRequest, args, allowAll)
			if err != nil {
				t.Fatal(err)
			}
			if r, _ := up.last(t); !a.received(r) || !res.Truncated {
				t.Fatalf("%s: credential received %v, truncated %v", a.name, a.received(r), res.Truncated)
			}
			lc.response(t, fmt.Sprintf("%s, credential %d bytes before the cut", a.name, before), res)
		}
	}
}

// TestCredentialByRange: a Range header makes the upstream return part of
// the echo, starting inside the credential; the redactor, which matches
// whole values, cannot recognise the rest.
func TestCredentialByRange(t *testing.T) {
	lc := newLeakCheck()
	handler := func(up **counter) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader("auth="+presented(r)+"\n"))
		}
	}
	for _, a := range authCases() {
		c, up := credConn(t, a, handler, nil)
		for _, rng := range []string{"bytes=6-", "bytes=5-12", "bytes=9-20,21-"} {
			args := get("file")
			args["headers"] = map[string]string{"Range": rng}
			res, _, err := call(t, c, OpRequest, args, allowAll)
			if err != nil {
				assertRefused(t, a.name+" Range "+rng, err)
				continue
			}
			if r, _ := up.last(t); !a.received(r) {
				t.Fatalf("%s: credential not received", a.name)
			}
			lc.response(t, a.name+" Range "+rng, res)
		}
	}
}

// TestCredentialCompressedByRequest: with the agent's own Accept-Encoding
// the transport leaves a gzip answer compressed, so the redactor sees
// compressed bytes and the result carries them in base64: decompressed,
// the echo holds the credential. Either the header is refused, or what
// comes back holds no credential once decompressed.
func TestCredentialCompressedByRequest(t *testing.T) {
	lc := newLeakCheck()
	handler := func(up **counter) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			var out io.Writer = w
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				defer zw.Close()
				out = zw
			}
			json.NewEncoder(out).Encode(map[string]any{"headers": r.Header, "url": r.URL.String()})
		}
	}
	for _, a := range authCases() {
		c, up := credConn(t, a, handler, nil)
		for _, enc := range []string{"gzip", "gzip, deflate, br", "x-gzip, gzip;q=0.5"} {
			args := get("echo")
			args["headers"] = map[string]string{"Accept-Encoding": enc}
			res, _, err := call(t, c, OpRequest, args, allowAll)
			if err != nil {
				assertRefused(t, a.name+" Accept-Encoding "+enc, err)
				continue
			}
			if r, _ := up.last(t); !a.received(r) {
				t.Fatalf("%s: credential not received", a.name)
			}
			lc.response(t, a.name+" Accept-Encoding "+enc, res)
		}
	}
}
