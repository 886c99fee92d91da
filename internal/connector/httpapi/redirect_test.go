package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// These tests run with allow_private covering every address, so the
// dialer allows everything and what they show is layer 1 alone: the
// target and redirect checks. The "internal service" is another server on
// 127.0.0.1 that must never see a connection.

// TestRedirectsLeavingTheBase: redirects to another origin, outside the
// base path, or to a path that is not canonical are refused after the
// first response; nothing else is sent anywhere.
func TestRedirectsLeavingTheBase(t *testing.T) {
	internal := newCounter(t, "127.0.0.1:0", nil)
	var locations []string
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if i, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1/case/")); err == nil {
			w.Header()["Location"] = []string{locations[i]}
			w.WriteHeader(http.StatusFound)
			return
		}
		io.WriteString(w, "reached "+r.URL.Path)
	})
	ip, port := "127.0.0.1", strconv.Itoa(portOf(up))
	self := ip + ":" + port
	other := ip + ":" + strconv.Itoa(portOf(internal))
	locations = []string{
		// Other origins: the internal service, other spellings of the
		// upstream's own host, other schemes, credentials.
		"http://" + other + "/v1/x",
		"http://" + other + "/",
		"//" + other + "/v1/x",
		"http://" + self + "@" + other + "/v1/x",
		"http://user@" + self + "/v1/x",
		"http://user:pw@" + self + "/v1/x",
		"https://" + self + "/v1/x",
		"ftp://" + self + "/v1/x",
		"http://localhost:" + port + "/v1/x",
		"http://127.0.0.1.:" + port + "/v1/x",
		"http://0x7f.1:" + port + "/v1/x",
		"http://2130706433:" + port + "/v1/x",
		"http://127.1:" + port + "/v1/x",
		"http://[::ffff:127.0.0.1]:" + port + "/v1/x",
		"http://[::1]:" + port + "/v1/x",
		"http://" + ip + "/v1/x",
		"http://" + ip + ":0" + port + "/v1/x",
		"//evil.example/v1/x",
		"http:" + other + "/v1/x",
		// Same origin, outside the base path.
		"/admin",
		"/",
		"/v10/x",
		"/V1/x",
		"/v1/../admin",
		"../../admin",
		"http://" + self + "/admin",
		// Same origin, not canonical.
		"/v1/%2e%2e/admin",
		"/v1/%2E%2E/%2E%2E/admin",
		"/v1/..;/admin",
		"/v1/a%2fb",
		"/v1/a%5cb",
		`/v1\..\admin`,
		"/v1//x",
		"/v1/%252e%252e/admin",
		"/v1/a%00b",
		"/v1/a%0d%0aX-Injected:%201",
	}
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = everywhere }))
	for i, loc := range locations {
		before := up.requests.Load()
		_, _, err := call(t, c, OpRequest, get("case/"+strconv.Itoa(i)), allowAll)
		wantErr(t, "Location "+loc, err, core.KindDenied, core.ReasonRedirectRefused)
		if n := up.requests.Load() - before; n != 1 {
			t.Errorf("Location %s: the upstream saw %d requests, want 1", loc, n)
		}
	}
	assertUntouched(t, "the internal service", internal)
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, r := range up.seen {
		if !strings.HasPrefix(r.RequestURI, "/v1/case/") {
			t.Errorf("the upstream received %s %s", r.Method, r.RequestURI)
		}
	}
}

// TestRedirectMalformedLocation: a redirect whose Location is not a URL
// is not followed and nothing more is sent; it is the API's answer, a
// redirect Warden refused (redirect.go: "its Location is not a URL"), not
// an API that "could not be reached".
func TestRedirectMalformedLocation(t *testing.T) {
	internal := newCounter(t, "127.0.0.1:0", nil)
	other := strings.TrimPrefix(internal.URL, "http://")
	locations := []string{`\\` + other + `\v1\x`, "/v1/%zz", "%", "http://[::1", "http://" + other + "/v1/%zz"}
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1/case/"))
		w.Header()["Location"] = []string{locations[i]}
		w.WriteHeader(http.StatusFound)
	})
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = everywhere }))
	for i, loc := range locations {
		before := up.requests.Load()
		_, _, err := call(t, c, OpRequest, get("case/"+strconv.Itoa(i)), allowAll)
		if err == nil {
			t.Errorf("Location %s: followed or returned, want refused", loc)
		}
		if n := up.requests.Load() - before; n != 1 {
			t.Errorf("Location %s: the upstream saw %d requests, want 1", loc, n)
		}
		wantErr(t, "Location "+loc, err, core.KindDenied, core.ReasonRedirectRefused)
	}
	assertUntouched(t, "the internal service", internal)
}

// TestRedirectsFollowed: same-origin redirects under the base path are
// followed, recorded, and the upstream sees exactly the hops.
func TestRedirectsFollowed(t *testing.T) {
	var self string
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/abs":
			w.Header().Set("Location", "http://"+self+"/v1/final")
		case "/v1/upper":
			w.Header().Set("Location", "HTTP://"+strings.ToUpper(self)+"/v1/final")
		case "/v1/rel":
			w.Header().Set("Location", "final")
		case "/v1/dir/dotdot":
			w.Header().Set("Location", "../final")
		case "/v1/escaped":
			w.Header().Set("Location", "/v1/a%20b")
		case "/v1/query":
			w.Header().Set("Location", "/v1/final?b=2&c=x%26y#frag")
		default:
			io.WriteString(w, "at "+r.URL.Path)
			return
		}
		w.WriteHeader(http.StatusFound)
	})
	self = strings.TrimPrefix(up.URL, "http://")
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, tc := range []struct {
		path, hop, wire string
	}{
		{"abs", "/v1/final", "/v1/final"},
		{"upper", "/v1/final", "/v1/final"},
		{"rel", "/v1/final", "/v1/final"},
		{"dir/dotdot", "/v1/final", "/v1/final"},
		{"escaped", "/v1/a b", "/v1/a%20b"},
		{"query", "/v1/final", "/v1/final?b=2&c=x%26y"},
	} {
		before := up.requests.Load()
		res, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": tc.path, "query": map[string]any{"a": "1"}}, allowAll)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		r, _ := up.last(t)
		if n := up.requests.Load() - before; n != 2 || r.RequestURI != tc.wire || !slices.Equal(res.Redirects, []string{tc.hop}) {
			t.Errorf("%s: %d requests, last %s, redirects %q; want 2, %s, [%s]", tc.path, n, r.RequestURI, res.Redirects, tc.wire, tc.hop)
		}
		if r.URL.Query().Has("a") {
			t.Errorf("%s: the agent's query was carried over the redirect: %s", tc.path, r.RequestURI)
		}
	}
}

// TestRedirectScope: each hop is decided by the policy again, on the
// decoded path; a nil scope follows nothing.
func TestRedirectScope(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		loc, ok := map[string]string{
			"/v1/a-to-b":       "/v1/b",
			"/v1/a-to-b-esc":   "/v1/%62",
			"/v1/a-to-b-rel":   "b",
			"/v1/a-to-a2":      "/v1/a2",
			"/v1/a-to-a2-to-b": "/v1/a2-to-b",
			"/v1/a2-to-b":      "/v1/b",
		}[r.URL.Path]
		if !ok {
			io.WriteString(w, "at "+r.URL.Path)
			return
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	var mu sync.Mutex
	var asked []string
	onlyA := core.ScopeFunc(func(p string) bool {
		mu.Lock()
		asked = append(asked, p)
		mu.Unlock()
		return strings.HasPrefix(p, "/v1/a")
	})
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = everywhere }))
	for _, tc := range []struct {
		path  string
		asked []string // what the scope was asked, in order
		sent  []string // what the upstream received
		ok    bool
	}{
		{"a-to-b", []string{"/v1/b"}, []string{"/v1/a-to-b"}, false},
		{"a-to-b-esc", []string{"/v1/b"}, []string{"/v1/a-to-b-esc"}, false},
		{"a-to-b-rel", []string{"/v1/b"}, []string{"/v1/a-to-b-rel"}, false},
		{"a-to-a2", []string{"/v1/a2"}, []string{"/v1/a-to-a2", "/v1/a2"}, true},
		{"a-to-a2-to-b", []string{"/v1/a2-to-b", "/v1/b"}, []string{"/v1/a-to-a2-to-b", "/v1/a2-to-b"}, false},
	} {
		mu.Lock()
		asked = nil
		mu.Unlock()
		up.mu.Lock()
		before := len(up.seen)
		up.mu.Unlock()
		_, _, err := call(t, c, OpRequest, get(tc.path), onlyA)
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.path, err)
		} else if !tc.ok {
			wantErr(t, tc.path, err, core.KindDenied, core.ReasonRedirectRefused)
		}
		up.mu.Lock()
		var sent []string
		for _, r := range up.seen[before:] {
			sent = append(sent, r.URL.Path)
		}
		up.mu.Unlock()
		mu.Lock()
		if !slices.Equal(sent, tc.sent) || !slices.Equal(asked, tc.asked) {
			t.Errorf("%s: the upstream received %q, the scope was asked %q; want %q, %q", tc.path, sent, asked, tc.sent, tc.asked)
		}
		mu.Unlock()
	}
	// A nil scope shows nothing: no redirect is followed.
	before := up.requests.Load()
	_, _, err := call(t, c, OpRequest, get("a-to-a2"), nil)
	wantErr(t, "nil scope", err, core.KindDenied, core.ReasonRedirectRefused)
	if n := up.requests.Load() - before; n != 1 {
		t.Errorf("nil scope: %d requests, want 1", n)
	}
}

func TestRedirectLimit(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/loop" {
			http.Redirect(w, r, "/v1/loop", http.StatusFound)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1/chain/"))
		if err != nil || n == 0 {
			io.WriteString(w, "end")
			return
		}
		http.Redirect(w, r, "/v1/chain/"+strconv.Itoa(n-1), http.StatusMovedPermanently)
	})
	c := newConn(t, spec(up.URL+"/v1/", nil))

	res, _, err := call(t, c, OpRequest, get("chain/"+strconv.Itoa(maxRedirects)), allowAll)
	if err != nil {
		t.Fatalf("%d redirects: %v", maxRedirects, err)
	}
	var want []string
	for i := maxRedirects - 1; i >= 0; i-- {
		want = append(want, "/v1/chain/"+strconv.Itoa(i))
	}
	if !slices.Equal(res.Redirects, want) || up.requests.Load() != maxRedirects+1 {
		t.Fatalf("%d redirects: followed %q with %d requests", maxRedirects, res.Redirects, up.requests.Load())
	}

	for _, p := range []string{"chain/" + strconv.Itoa(maxRedirects+1), "loop"} {
		before := up.requests.Load()
		_, _, err = call(t, c, OpRequest, get(p), allowAll)
		wantErr(t, p, err, core.KindDenied, core.ReasonRedirectRefused)
		if n := up.requests.Load() - before; n != maxRedirects+1 {
			t.Errorf("%s: %d requests, want %d", p, n, maxRedirects+1)
		}
	}
	if r, _ := up.last(t); r.URL.Path != "/v1/loop" {
		t.Errorf("last request %s", r.URL.Path)
	}
}

// TestRedirectMethods: 301, 302 and 303 after anything but GET or HEAD
// would become a GET, so they are returned as they are; 307 and 308 keep
// the method and body; other 3xx are answers.
func TestRedirectMethods(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1/")); err == nil {
			if code != 399 {
				w.Header().Set("Location", "/v1/target")
			}
			if code == 399 {
				code = http.StatusFound // a 302 without Location
			}
			w.WriteHeader(code)
			io.WriteString(w, "redirect body")
			return
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	c := newConn(t, spec(up.URL+"/v1/", nil))
	body := map[string]any{"k": "v", "n": 1}
	for _, tc := range []struct {
		method string
		code   int
		follow bool
	}{
		{"POST", 301, false}, {"POST", 302, false}, {"POST", 303, false},
		{"PUT", 302, false}, {"PATCH", 303, false}, {"DELETE", 301, false}, {"OPTIONS", 302, false},
		{"POST", 307, true}, {"POST", 308, true}, {"PUT", 307, true}, {"PATCH", 308, true}, {"DELETE", 307, true},
		{"GET", 301, true}, {"GET", 302, true}, {"GET", 303, true}, {"GET", 307, true}, {"GET", 308, true},
		{"HEAD", 302, true}, {"HEAD", 307, true},
		{"GET", 300, false}, {"GET", 304, false}, {"GET", 305, false}, {"GET", 306, false}, {"GET", 399, false},
	} {
		name := fmt.Sprintf("%s %d", tc.method, tc.code)
		args := map[string]any{"method": tc.method, "path": strconv.Itoa(tc.code)}
		hasBody := tc.method != "GET" && tc.method != "HEAD"
		if hasBody {
			args["body"] = body
		}
		before := up.requests.Load()
		res, _, err := call(t, c, OpRequest, args, allowAll)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		n := up.requests.Load() - before
		if !tc.follow {
			wantStatus := tc.code
			if tc.code == 399 {
				wantStatus = 302
			}
			if n != 1 || res.Status != wantStatus || len(res.Redirects) != 0 {
				t.Errorf("%s: %d requests, status %d, redirects %q; want it returned as it is", name, n, res.Status, res.Redirects)
			}
			if tc.code != 399 && tc.code != 304 && res.Headers["Location"] != "/v1/target" {
				t.Errorf("%s: Location %q not shown", name, res.Headers["Location"])
			}
			continue
		}
		r, got := up.last(t)
		if n != 2 || r.Method != tc.method || r.URL.Path != "/v1/target" || !slices.Equal(res.Redirects, []string{"/v1/target"}) {
			t.Errorf("%s: %d requests, last %s %s, redirects %q; want the same method to /v1/target", name, n, r.Method, r.URL.Path, res.Redirects)
		}
		if hasBody && (string(got) != `{"k":"v","n":1}` || r.Header.Get("Content-Type") != "application/json") {
			t.Errorf("%s: the redirected request carried %q (%s), want the body again", name, got, r.Header.Get("Content-Type"))
		}
	}
}

// TestRedirectTLSDowngrade: from an https base URL, a redirect to http,
// on the same host and port or another, is refused; https to https is
// followed.
func TestRedirectTLSDowngrade(t *testing.T) {
	plain := newCounter(t, "127.0.0.1:0", nil)
	var self string
	up, ca := newTLSCounter(t, func(w http.ResponseWriter, r *http.Request) {
		loc, ok := map[string]string{
			"/v1/down-same":       "http://" + self + "/v1/x",
			"/v1/down-other":      plain.URL + "/v1/x",
			"/v1/down-schemeless": "//" + strings.TrimPrefix(plain.URL, "http://") + "/v1/x",
			"/v1/down-localhost":  "http://localhost:" + strconv.Itoa(portOf(plain)) + "/v1/x",
			"/v1/up":              "https://" + self + "/v1/final",
		}[r.URL.Path]
		if !ok {
			io.WriteString(w, "at "+r.URL.Path)
			return
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	})
	self = strings.TrimPrefix(up.URL, "https://")
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate, s.CAFile = everywhere, ca }))
	for _, p := range []string{"down-same", "down-other", "down-schemeless", "down-localhost"} {
		before := up.requests.Load()
		_, _, err := call(t, c, OpRequest, get(p), allowAll)
		wantErr(t, p, err, core.KindDenied, core.ReasonRedirectRefused)
		if n := up.requests.Load() - before; n != 1 {
			t.Errorf("%s: %d requests, want 1", p, n)
		}
	}
	if _, _, err := call(t, c, OpRequest, get("down-same"), allowAll); !strings.Contains(core.MessageOf(err), "TLS") {
		t.Errorf("down-same: message %q does not say it leaves TLS", core.MessageOf(err))
	}
	assertUntouched(t, "the plain HTTP server", plain)
	res, _, err := call(t, c, OpRequest, get("up"), allowAll)
	if err != nil || !slices.Equal(res.Redirects, []string{"/v1/final"}) || res.Text == nil || *res.Text != "at /v1/final" {
		t.Fatalf("https to https: %+v, %v", res, err)
	}
}

// TestRedirectQueryAuth: a redirect's query is kept, but the credential
// parameter in it is Warden's, once.
func TestRedirectQueryAuth(t *testing.T) {
	const secret = "q-secret-0123456789abcdef"
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/start" {
			w.Header().Set("Location", "/v1/next?api_key=attacker&api_key=two&b=2")
			w.WriteHeader(http.StatusFound)
			return
		}
		io.WriteString(w, "done")
	})
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) {
		s.Auth = &Auth{Scheme: "query", Name: "api_key", Secret: core.NewSecret("env:K", secret)}
	}))
	if _, _, err := call(t, c, OpRequest, get("start"), allowAll); err != nil {
		t.Fatal(err)
	}
	r, _ := up.last(t)
	if q := r.URL.Query(); r.URL.Path != "/v1/next" || !slices.Equal(q["api_key"], []string{secret}) || !slices.Equal(q["b"], []string{"2"}) || len(q) != 2 {
		t.Fatalf("after the redirect the upstream got %s", r.RequestURI)
	}
}
