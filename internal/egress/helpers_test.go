package egress

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

// token is the API credential Warden injects; upstreams echo it back.
const token = "tok-egress-7c1d93ab55e0"

// recorder is an upstream that records every request and connection.
type recorder struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
	mu       sync.Mutex
	seen     []*http.Request
	bodies   []string
}

// newRecorder starts an upstream (TLS when tlsOn) whose handler echoes the
// method, path, query, Authorization and body as JSON.
func newRecorder(t testing.TB, tlsOn bool) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Clone(context.Background()))
		rec.bodies = append(rec.bodies, string(body))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=upstream")
		json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"auth": r.Header.Get("Authorization"), "body": string(body), "accept": r.Header.Get("Accept"),
		})
	}))
	rec.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rec.conns.Add(1)
		}
	}
	if tlsOn {
		rec.StartTLS()
	} else {
		rec.Start()
	}
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) port() string {
	_, p, _ := net.SplitHostPort(r.Listener.Addr().String())
	return p
}

// caPEM writes the TLS upstream's certificate where a resource's ca: can
// name it.
func (r *recorder) caPEM(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "upstream-"+r.port()+".pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// env is one policy, engine and proxy on loopback.
type env struct {
	dir    string
	eng    *engine.Engine
	proxy  *Proxy
	addr   string // the proxy's listening address
	plain  *recorder
	secure *recorder
	ca     *x509.CertPool // trusts the TLS upstream, and the inspection CA if any
}

// policyFor returns the test policy: resource api (plain http, bearer
// token, GET and POST on /v1/items/** and POST on /v1/echo) and secure
// (https, GET on /ok/** only).
func policyFor(plain, secure *recorder, caFile, extraSettings string) string {
	return fmt.Sprintf(`version: 1
settings:
  limits: {max_argument_bytes: 16KiB}
%sresources:
  api:
    kind: http
    base_url: http://127.0.0.1:%s/v1/
    auth: {bearer: env:API_TOKEN}
    allow_private: [127.0.0.1/32]
  secure:
    kind: http
    base_url: https://127.0.0.1:%s/
    ca: %s
    allow_private: [127.0.0.1/32]
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], paths: ["/v1/items/**"]}
      - {resource: api, actions: [POST], paths: ["/v1/echo"]}
      - {resource: secure, actions: [GET], paths: ["/ok/**"]}
  other:
    grants:
      - {resource: api, actions: [GET]}
`, extraSettings, plain.port(), secure.port(), caFile)
}

type envOpts struct {
	inspect bool
	cfg     func(*Config)
	policy  func(plain, secure *recorder, caFile string) string
}

func newEnv(t testing.TB, o envOpts) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), plain: newRecorder(t, false), secure: newRecorder(t, true)}
	e.ca = x509.NewCertPool()
	e.ca.AddCert(e.secure.Certificate())
	caFile := e.secure.caPEM(t, e.dir)
	extra := ""
	if o.inspect {
		cert, key := makeCA(t)
		os.WriteFile(filepath.Join(e.dir, "ca.pem"), cert, 0o600)
		os.WriteFile(filepath.Join(e.dir, "ca-key.pem"), key, 0o600)
		extra = "  egress:\n    tls_inspection: {ca: file:ca.pem, key: file:ca-key.pem}\n"
		e.ca.AppendCertsFromPEM(cert)
	}
	src := policyFor(e.plain, e.secure, caFile, extra)
	if o.policy != nil {
		src = o.policy(e.plain, e.secure, caFile)
	}
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(e.dir), policy.WithLookupEnv(func(k string) (string, bool) {
		if k == "API_TOKEN" {
			return token, true
		}
		return "", false
	}))
	if err != nil {
		t.Fatal(err)
	}
	e.eng, err = engine.New(context.Background(), p, engine.Options{NoRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.eng.Close() })
	cfg := Config{Engine: e.eng, Agent: "bot"}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	e.proxy, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.proxy.Serve(ln) }()
	t.Cleanup(func() {
		e.proxy.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

// client is a real http.Client going through the proxy.
func (e *env) client() *http.Client {
	pu := &url.URL{Scheme: "http", Host: e.addr}
	return &http.Client{
		Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: e.ca}, DisableKeepAlives: false},
		Timeout:   20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// connect sends a raw CONNECT and returns the proxy's answer.
func (e *env) connect(t *testing.T, target string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// records reads the audit log.
func (e *env) records(t *testing.T) []audit.Record {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.dir, ".warden", audit.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Record
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var r audit.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// find returns the audit records that match.
func find(rs []audit.Record, match func(audit.Record) bool) []audit.Record {
	var out []audit.Record
	for _, r := range rs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// makeCA returns a CA certificate and its key, PEM.
func makeCA(t testing.TB) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "warden test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
