package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/netguard"
)

// The public addresses the corpus README gives for names in allow lines.
var (
	publicV4 = netip.MustParseAddr("93.184.215.14")
	publicV6 = netip.MustParseAddr("2606:2800:21f:cb07:6820:80da:af6b:8b2c")
)

// Ports of the corpus's {PORT} (the upstream of REQ lines) and {PORT2}
// (a listener that must never see a connection).
const ssrfPort, ssrfPort2 = 47001, 47002

// ssrfEnvMarker is WARDEN_TEST_SECRET: no request may carry it.
const ssrfEnvMarker = "WARDEN-ENV-MARKER-5f1c"

// ssrfNames are the corpus README's DNS answers for names in deny lines.
var ssrfNames = map[string][]netip.Addr{
	"localtest.me":             {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	"localh.st":                {netip.MustParseAddr("127.0.0.1")},
	"company.127.0.0.1.nip.io": {netip.MustParseAddr("127.0.0.1")},
	"169.254.169.254.nip.io":   {netip.MustParseAddr("169.254.169.254")},
	"instance-data":            {netip.MustParseAddr("169.254.169.254")},
	"metadata.google.internal": {netip.MustParseAddr("169.254.169.254")},
	"metadata":                 {netip.MustParseAddr("169.254.169.254")},
	"metadata.tencentyun.com":  {netip.MustParseAddr("169.254.0.23")},
	"rancher-metadata":         {netip.MustParseAddr("169.254.169.250")},
	"service.test":             {netip.MustParseAddr("127.0.0.1")},
}

// ssrfRebind alternates a public and an internal answer, like the
// rebinding service the corpus names.
var ssrfRebind = map[string][2]netip.Addr{
	"make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms": {netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("169.254.169.254")},
}

func TestCorpusSSRFGoResolver(t *testing.T)  { runSSRFCorpusIn(t, "go") }
func TestCorpusSSRFCgoResolver(t *testing.T) { runSSRFCorpusIn(t, "cgo") }

// ssrfFixture is what every line of the SSRF corpus runs against.
type ssrfFixture struct {
	dns    *fakeDNS
	traps  *traps
	caFile string

	mu       sync.Mutex
	redirect string         // Location for GET /v1/r on {PORT}, if set
	requests []*seenRequest // requests that reached a trap
}

type seenRequest struct {
	dst    netip.AddrPort
	host   string
	uri    string
	header http.Header
	body   string
}

func runSSRFCorpusIn(t *testing.T, resolver string) {
	if !sandboxedWith(t, netnsOptions(resolver)) {
		return
	}
	cases := corpus.Load(t, "ssrf-hosts.txt")
	everyAddressLocal(t)
	t.Setenv("WARDEN_TEST_SECRET", ssrfEnvMarker)
	dir := t.TempDir()

	// Every name of an allow line resolves to the public address; the
	// ports named anywhere get a trap.
	names := map[string][]netip.Addr{}
	for k, v := range ssrfNames {
		names[k] = v
	}
	ports := map[int]bool{80: true, 443: true, ssrfPort: true, ssrfPort2: true}
	tlsPorts := map[int]bool{443: true}
	var certNames []string
	certAddrs := []netip.Addr{publicV4, publicV6}
	for _, c := range cases {
		u := ssrfTargetURL(c.Payload)
		pu, err := url.Parse(u)
		if err != nil || pu.Hostname() == "" {
			continue
		}
		port := 80
		if pu.Scheme == "https" {
			port = 443
		}
		if p, err := strconv.Atoi(pu.Port()); err == nil && p > 0 && p < 65536 {
			port = p
		}
		ports[port] = true
		if pu.Scheme == "https" {
			tlsPorts[port] = true
		}
		if c.Expect != "allow" {
			continue
		}
		if a, err := netip.ParseAddr(pu.Hostname()); err == nil {
			certAddrs = append(certAddrs, a)
		} else {
			names[pu.Hostname()] = []netip.Addr{publicV4, publicV6}
			certNames = append(certNames, pu.Hostname())
		}
	}
	certNames = append(certNames, "*.ssrf.test")
	f := &ssrfFixture{dns: startDNS(t, names, ssrfRebind)}
	cert, caFile := testCA(t, dir, certNames, certAddrs)
	f.caFile = caFile
	f.traps = startTraps(t, slices.Sorted(maps.Keys(ports)), tlsPorts, cert, http.HandlerFunc(f.serve))
	checkResolver(t, resolver)

	var denied, allowed int
	for _, c := range cases {
		t.Run(fmt.Sprintf("line%d", c.Line), func(t *testing.T) {
			f.reset()
			switch {
			case c.Scenario() != "":
				f.scenario(t, c)
			case strings.HasPrefix(c.Payload, "REQ:"):
				f.agentRequest(t, c)
			default:
				f.target(t, c)
			}
		})
		if c.Expect == "deny" {
			denied++
		} else {
			allowed++
		}
	}
	t.Logf("ssrf-hosts.txt with the %s resolver: %d deny and %d allow lines", resolver, denied, allowed)
}

// checkResolver proves the resolver the test asked for is the one in use:
// only glibc's reads "0177.0.0.1" as an address.
func checkResolver(t *testing.T, resolver string) {
	t.Helper()
	addrs, err := net.DefaultResolver.LookupHost(context.Background(), "0177.0.0.1")
	switch {
	case resolver == "cgo" && (err != nil || !slices.Contains(addrs, "127.0.0.1")):
		t.Fatalf("GODEBUG=netdns=cgo, yet 0177.0.0.1 resolves to %v, %v: not glibc's resolver", addrs, err)
	case resolver == "go" && err == nil:
		t.Fatalf("GODEBUG=netdns=go, yet 0177.0.0.1 resolves to %v: not Go's resolver", addrs)
	}
}

func (f *ssrfFixture) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	seen := &seenRequest{host: r.Host, uri: r.RequestURI, header: r.Header.Clone(), body: string(body)}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			seen.dst = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, seen)
	loc := f.redirect
	f.mu.Unlock()
	if loc != "" && r.URL.Path == "/v1/r" {
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"ok":true}`))
}

func (f *ssrfFixture) reset() {
	f.traps.take()
	f.dns.take()
	f.mu.Lock()
	f.redirect, f.requests = "", nil
	f.mu.Unlock()
}

func (f *ssrfFixture) takeRequests() []*seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.requests
	f.requests = nil
	return out
}

// bareTarget matches a corpus value that is not a URL: a host, an
// address, host:port, [v6] or [v6]:port.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// ssrfTargetURL is the URL a plain line stands for: the line itself, or
// http://<value>/ for a bare host.
func ssrfTargetURL(p string) string {
	if strings.Contains(p, "://") {
		return p
	}
	if m := urlScheme.FindString(p); m != "" {
		rest := p[len(m):]
		if _, err := strconv.Atoi(strings.TrimSuffix(rest, "/")); err != nil {
			return p // http:127.0.0.1/, unix:... : a URL, however odd
		}
	}
	return "http://" + p + "/"
}

// target runs a plain line three ways: as a configured base URL, behind a
// name that resolves to it, and as a redirect's Location.
func (f *ssrfFixture) target(t *testing.T, c corpus.Case) {
	u := ssrfTargetURL(c.Payload)
	base, reqPath, query := u, "", map[string]any{}
	if pu, err := url.Parse(u); err == nil && (pu.Scheme == "http" || pu.Scheme == "https") && pu.Host != "" && pu.User == nil &&
		(pu.RawQuery != "" || pu.Fragment != "" || pu.Path != "" && pu.Path != "/") {
		// The base is the origin; the path and query go into the call,
		// where an allow line's query is no reason to refuse it.
		base = pu.Scheme + "://" + pu.Host + "/"
		reqPath = pu.EscapedPath()
		for k, v := range pu.Query() {
			query[k] = v
		}
	}
	args := map[string]any{"method": "GET", "path": reqPath, "query": query}

	t.Run("base_url", func(t *testing.T) {
		f.reset()
		if pu, err := url.Parse(u); err == nil && c.Expect == "deny" {
			if _, ok := ssrfRebind[strings.ToLower(pu.Hostname())]; ok {
				f.rebinding(t, c, base, args)
				return
			}
		}
		refused, why := f.callOn(t, base, nil, args)
		f.judgeTarget(t, c, refused, why)
	})

	if host := hostOf(u); host.IsValid() {
		t.Run("after_dns", func(t *testing.T) {
			f.reset()
			if why, ok := ssrfDecisions[c.Payload+" after_dns"]; ok {
				t.Logf("%v: %s", c, why)
				c.Expect = "allow"
			}
			name := fmt.Sprintf("line%d.ssrf.test", c.Line)
			f.dns.set(name, host)
			pu, _ := url.Parse(u)
			b := pu.Scheme + "://" + name
			if p := pu.Port(); p != "" {
				b += ":" + p
			}
			refused, why := f.callOn(t, b+"/", nil, args)
			f.judgeTarget(t, c, refused, why)
		})
	}

	if c.Expect == "deny" {
		t.Run("redirect", func(t *testing.T) {
			f.reset()
			f.mu.Lock()
			f.redirect = u
			f.mu.Unlock()
			upstream := fmt.Sprintf("http://127.0.0.1:%d/v1/", ssrfPort)
			res, err := f.session(t, upstream, []string{"127.0.0.1/32"})
			if err != nil {
				t.Fatalf("the loopback upstream is refused: %v", err)
			}
			out := callTool(t, res, "api_request", map[string]any{"method": "GET", "path": "r"})
			for _, h := range f.traps.take() {
				if h.dst != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ssrfPort) {
					t.Errorf("%v: following the redirect connected to %v", c, h.dst)
				}
			}
			if !out.IsError && !strings.Contains(text(out), `"status":302`) {
				t.Errorf("%v: the redirect was followed: %s", c, clip(text(out)))
			}
		})
	}
}

// ssrfDecisions are debatable deny lines that one way of running them
// accepts on purpose, with why. The test then expects them to work.
var ssrfDecisions = map[string]string{
	"[::ffff:129.144.52.38]:80 after_dns": "a name answering with the IPv4-mapped form of a public IPv4 address leads to that public address; the dialer sees the IPv4 address (the URL spelling itself is refused)",
}

// rebinding calls a resource whose name answers public and internal
// addresses in turn, several times: calls may reach the public address,
// never the internal one.
func (f *ssrfFixture) rebinding(t *testing.T, c corpus.Case, base string, args map[string]any) {
	t.Helper()
	cs, err := f.session(t, base, nil)
	if err != nil {
		return // refused at load: fine
	}
	refusals := 0
	for range 6 {
		if res := callTool(t, cs, "api_request", args); res.IsError {
			refusals++
		}
	}
	for _, h := range f.traps.take() {
		if netguard.New(nil).Check(h.dst.Addr()) != nil {
			t.Errorf("%v: Warden connected to %v", c, h.dst)
		}
	}
	if refusals == 0 {
		t.Errorf("%v: no call was refused although the name answered an internal address in turn", c)
	}
}

// hostOf returns a URL's host when it is an IP address literal.
func hostOf(u string) netip.Addr {
	pu, err := url.Parse(u)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(pu.Hostname())
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a
}

// judgeTarget applies the README's rule to a plain line: deny lines are
// refused and no connection reached a non-public address; allow lines
// are accepted and connect to the public address.
func (f *ssrfFixture) judgeTarget(t *testing.T, c corpus.Case, refused bool, why string) {
	t.Helper()
	hits := f.traps.take()
	if c.Expect == "deny" {
		if !refused {
			t.Errorf("%v: accepted, want it refused", c)
		}
		for _, h := range hits {
			if netguard.New(nil).Check(h.dst.Addr()) != nil {
				t.Errorf("%v: Warden connected to %v", c, h.dst)
			}
		}
		return
	}
	if refused {
		t.Errorf("%v: refused, want it accepted: %s", c, why)
	}
	if len(hits) == 0 {
		t.Errorf("%v: no connection reached the (stubbed) public address", c)
	}
	for _, h := range hits {
		if netguard.New(nil).Check(h.dst.Addr()) != nil {
			t.Errorf("%v: Warden connected to the non-public %v", c, h.dst)
		}
	}
}

// callOn configures a resource on base and calls it once. refused is true
// when the policy or engine refuses the base, or the call fails.
func (f *ssrfFixture) callOn(t *testing.T, base string, allow []string, args map[string]any) (refused bool, why string) {
	t.Helper()
	cs, err := f.session(t, base, allow)
	if err != nil {
		return true, err.Error()
	}
	res := callTool(t, cs, "api_request", args)
	return res.IsError, text(res)
}

// session serves a policy with one http resource on base, which one agent
// may GET anywhere under, or an error if Warden refuses to load it.
func (f *ssrfFixture) session(t *testing.T, base string, allow []string) (*mcp.ClientSession, error) {
	t.Helper()
	dir := t.TempDir()
	allowJSON, _ := json.Marshal(allow)
	if allow == nil {
		allowJSON = []byte("[]")
	}
	pol := fmt.Sprintf(`version: 1
resources:
  api: {kind: http, base_url: %s, ca: %q, allow_private: %s, limits: {timeout: 5s}}
agents:
  agent:
    grants:
      - resource: api
        actions: [GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS]
`, strconv.Quote(base), f.caFile, allowJSON)
	if err := os.WriteFile(filepath.Join(dir, "warden.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	return serveInProcess(t, dir)
}

// agentRequest runs a REQ: line as one agent call against the loopback
// upstream, and checks every request the upstream received.
func (f *ssrfFixture) agentRequest(t *testing.T, c corpus.Case) {
	raw := corpus.Substitute(strings.TrimPrefix(c.Payload, "REQ:"), map[string]string{"PORT": strconv.Itoa(ssrfPort), "PORT2": strconv.Itoa(ssrfPort2)})
	var req map[string]any
	if err := json.Unmarshal([]byte(raw), &req); err != nil {
		t.Fatalf("%v: the payload is not JSON: %v", c, err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d/v1/", ssrfPort)
	if b, ok := req["base_url"].(string); ok {
		base = b
		delete(req, "base_url")
	}
	bu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%v: base_url: %v", c, err)
	}
	// The loopback exception covers exactly the base's host: its address,
	// or the addresses its name resolves to now.
	var allow []string
	if a, err := netip.ParseAddr(bu.Hostname()); err == nil {
		allow = []string{netip.PrefixFrom(a, a.BitLen()).String()}
	} else if addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", bu.Hostname()); err == nil {
		for _, a := range addrs {
			a = a.Unmap()
			allow = append(allow, netip.PrefixFrom(a, a.BitLen()).String())
		}
		f.dns.take() // the harness's own lookup is not Warden's
	}
	if _, ok := req["method"]; !ok {
		req["method"] = "GET"
	}
	hostPort := bu.Host
	if bu.Port() == "" {
		hostPort += map[string]string{"http": ":80", "https": ":443"}[bu.Scheme]
	}
	refused, why := f.callOn(t, base, allow, req)
	reqs := f.takeRequests()
	hits := f.traps.take()
	for _, name := range f.dns.take() {
		if !strings.EqualFold(strings.TrimSuffix(name, "."), bu.Hostname()) {
			t.Errorf("%v: a name derived from the payload was looked up: %s", c, name)
		}
	}
	for _, h := range hits {
		if h.dst.Port() != ssrfPort && fmt.Sprint(h.dst.Port()) != bu.Port() {
			t.Errorf("%v: a connection went to %v", c, h.dst)
		}
	}
	wantQuery := url.Values{}
	if q, ok := req["query"].(map[string]any); ok {
		for k, v := range q {
			wantQuery.Set(k, fmt.Sprint(v))
		}
	}
	sent := map[string]bool{"User-Agent": true, "Accept-Encoding": true, "Content-Length": true, "Content-Type": true}
	if h, ok := req["headers"].(map[string]any); ok {
		for k := range h {
			sent[http.CanonicalHeaderKey(k)] = true
		}
	}
	var bad []string
	for _, r := range reqs {
		if r.host != hostPort {
			bad = append(bad, fmt.Sprintf("Host %q", r.host))
		}
		p, _, _ := strings.Cut(r.uri, "?")
		dec, err := url.PathUnescape(p)
		if err != nil || !strings.HasPrefix(path.Clean(dec)+"/", bu.Path) {
			bad = append(bad, fmt.Sprintf("path %q leaves %s", r.uri, bu.Path))
		}
		for k, vs := range r.header {
			if !sent[k] {
				bad = append(bad, "header "+k)
			}
			for _, v := range vs {
				if strings.Contains(v, ssrfEnvMarker) {
					bad = append(bad, "the environment marker in "+k)
				}
			}
		}
		if strings.Contains(r.uri+r.body, ssrfEnvMarker) {
			bad = append(bad, "the environment marker in the request")
		}
		_, rq, _ := strings.Cut(r.uri, "?")
		got, _ := url.ParseQuery(rq)
		if !sameQuery(got, wantQuery) {
			bad = append(bad, fmt.Sprintf("query %v, sent %v", got, wantQuery))
		}
	}
	if len(reqs) > 1 {
		bad = append(bad, fmt.Sprintf("%d requests", len(reqs)))
	}
	if c.Expect == "deny" {
		if !refused && len(bad) > 0 {
			t.Errorf("%v: not refused, and the upstream saw: %s", c, strings.Join(bad, "; "))
		}
		return
	}
	switch {
	case refused:
		t.Errorf("%v: refused, want it allowed: %s", c, clip(why))
	case len(reqs) != 1:
		t.Errorf("%v: the upstream saw %d requests, want 1", c, len(reqs))
	case len(bad) > 0:
		t.Errorf("%v: the upstream saw: %s", c, strings.Join(bad, "; "))
	}
}

func sameQuery(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// scenario runs a SCENARIO: line by name.
func (f *ssrfFixture) scenario(t *testing.T, c corpus.Case) {
	switch c.Scenario() {
	case "redirect-302-to-loopback":
		f.mu.Lock()
		f.redirect = fmt.Sprintf("http://127.0.0.1:%d/admin", ssrfPort2)
		f.mu.Unlock()
		cs, err := f.session(t, fmt.Sprintf("http://127.0.0.1:%d/v1/", ssrfPort), []string{"127.0.0.1/32"})
		if err != nil {
			t.Fatal(err)
		}
		res := callTool(t, cs, "api_request", map[string]any{"method": "GET", "path": "r"})
		for _, h := range f.traps.take() {
			if h.dst.Port() == ssrfPort2 {
				t.Errorf("%v: the {PORT2} listener saw a connection", c)
			}
		}
		if !res.IsError && !strings.Contains(text(res), `"status":302`) {
			t.Errorf("%v: neither refused nor the 302 itself: %s", c, clip(text(res)))
		}
	default:
		t.Errorf("%v: unknown scenario; implement it in corpus_ssrf_test.go", c)
	}
}
