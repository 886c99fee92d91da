package httpbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warden-dev/warden/bench/internal/pipeline"
	"github.com/warden-dev/warden/internal/connector/httpapi" // registers kind "http"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// payload is one benchmarked request: a GET of path, relative to the
// upstream's /v1/.
type payload struct {
	name string
	path string
}

var payloads = []payload{
	{"item", "items/42"}, // about 200 bytes of JSON
	{"big", "big"},       // about 64 KiB of JSON
}

// parallelism is b.SetParallelism's factor in the parallel mode: this many
// requests in flight per GOMAXPROCS.
const parallelism = 4

// policyText allows one agent GET under /v1/ on the upstream. Every other
// setting is the default: the audit log is on, in .warden beside the
// policy.
const policyText = `version: 1
resources:
  api:
    kind: http
    base_url: %s/v1/
    allow_private: [127.0.0.1/32]
agents:
  agent:
    grants:
      - resource: api
        actions: [GET]
        paths: ["/v1/**"]
`

// item is the upstream's JSON for item n: about 200 bytes.
func item(n int) []byte {
	return fmt.Appendf(nil, `{"id":%d,"name":"Item %d","sku":"SKU-%06d","price":19.99,"currency":"EUR","in_stock":true,`+
		`"tags":["alpha","beta","gamma"],"updated_at":"2026-11-26T04:00:00Z","description":"A small item served by the HTTP benchmark."}`,
		n, n, n)
}

// bigBody is a JSON array of items, a little over 64 KiB.
func bigBody() []byte {
	buf := []byte(`{"items":[`)
	for n := 1; len(buf) < 64<<10; n++ {
		if n > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, item(n)...)
	}
	return append(buf, "]}"...)
}

// upstream starts the loopback API: GET /v1/items/{n} and GET /v1/big,
// JSON with a Content-Length and no Date header (so that direct's result
// can be compared byte for byte with Warden's).
func upstream(b *testing.B) *httptest.Server {
	big := bigBody()
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, body []byte) {
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
	mux.HandleFunc("GET /v1/items/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		write(w, item(n))
	})
	mux.HandleFunc("GET /v1/big", func(w http.ResponseWriter, r *http.Request) { write(w, big) })
	srv := httptest.NewUnstartedServer(mux)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	b.Cleanup(srv.Close)
	return srv
}

// direct is a plain Go client of the upstream, with keep-alive and as
// many idle connections per host as Warden's connector keeps (16).
type direct struct {
	base   string // the upstream's URL of /v1/
	client *http.Client
}

func newDirect(b *testing.B, srvURL string) *direct {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	d := &direct{base: srvURL + "/v1/", client: &http.Client{Transport: tr}}
	b.Cleanup(tr.CloseIdleConnections)
	return d
}

// get sends the GET, reads the whole body and returns it as Warden does:
// checked and compacted JSON inside Warden's result shape, encoded.
func (d *direct) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("direct: status %d", resp.StatusCode)
	}
	out := &httpapi.Response{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode),
		Headers: make(map[string]string, len(resp.Header)), Bytes: int64(len(body))}
	for k, v := range resp.Header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("direct: the body is not JSON")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		return nil, err
	}
	// Warden's result: the metadata, with the body as its "json" member,
	// joined as warden call and the Go API see it.
	meta, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return core.WithMember(meta, "json", buf.Bytes())
}

// newEngine writes the policy for the upstream at srvURL into a temporary
// directory, which also holds the state directory (audit log), and starts
// the engine on it.
func newEngine(b *testing.B, srvURL string) *engine.Engine {
	return pipeline.Engine(b, fmt.Sprintf(policyText, srvURL))
}

// wardenGet calls api_request with a GET of path and returns the result.
func wardenGet(ctx context.Context, e *engine.Engine, call core.Call) ([]byte, string, error) {
	out := e.Call(ctx, call, engine.CallOptions{})
	if out.Status != engine.StatusOK {
		return nil, "", fmt.Errorf("warden: status %v, reason %s: %s (%v)", out.Status, out.Reason, out.Message, out.Err)
	}
	return out.JSON(), out.AuditID, nil
}

func BenchmarkHTTP(b *testing.B) {
	ctx := context.Background()
	srv := upstream(b)
	d := newDirect(b, srv.URL)
	e := newEngine(b, srv.URL)

	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			for _, p := range payloads {
				b.Run(p.name, func(b *testing.B) {
					args, err := json.Marshal(map[string]string{"method": "GET", "path": p.path})
					if err != nil {
						b.Fatal(err)
					}
					call := core.Call{Agent: "agent", Tool: "api_request", Args: args}

					// Both paths must return the same bytes, checked once
					// outside the timed loops.
					want, err := d.get(ctx, p.path)
					if err != nil {
						b.Fatal(err)
					}
					got, auditID, err := wardenGet(ctx, e, call)
					if err != nil {
						b.Fatal(err)
					}
					if auditID == "" {
						b.Fatal("warden: the call has no audit record")
					}
					if !bytes.Equal(got, want) {
						b.Fatalf("warden and direct differ:\n%.300s\n%.300s", got, want)
					}
					var r struct {
						Status    int
						JSON      json.RawMessage `json:"json"`
						Bytes     int64
						Truncated bool
					}
					if err := json.Unmarshal(got, &r); err != nil || r.Status != http.StatusOK || len(r.JSON) == 0 || r.Truncated {
						b.Fatalf("warden: not a whole JSON response (%v): %.300s", err, got)
					}
					bodyBytes := float64(r.Bytes)

					b.Run("direct", func(b *testing.B) {
						measure(b, mode, func() error {
							_, err := d.get(ctx, p.path)
							return err
						})
						b.ReportMetric(bodyBytes, "body-B/op")
					})
					b.Run("warden", func(b *testing.B) {
						measure(b, mode, func() error {
							_, _, err := wardenGet(ctx, e, call)
							return err
						})
						b.ReportMetric(bodyBytes, "body-B/op")
					})
				})
			}
		})
	}
}

// measure times f, one call at a time (serial) or from parallelism ×
// GOMAXPROCS goroutines at once (parallel), and reports besides ns/op:
// the p50 and p99 of the calls' latencies in µs, calls a second, and the
// CPU time of the whole process per call (every goroutine, the upstream's
// and the garbage collector's too).
func measure(b *testing.B, mode string, f func() error) {
	b.ReportAllocs()
	var lat []time.Duration
	cpu := cpuTime(b)
	if mode == "serial" {
		lat = make([]time.Duration, 0, 1<<14)
		for b.Loop() {
			t := time.Now()
			if err := f(); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
	} else {
		var mu sync.Mutex
		b.SetParallelism(parallelism)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			local := make([]time.Duration, 0, 1<<12)
			for pb.Next() {
				t := time.Now()
				if err := f(); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
		b.StopTimer()
	}
	cpu = cpuTime(b) - cpu
	if len(lat) == 0 || b.N == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50))/1e3, "p50-µs")
	b.ReportMetric(float64(percentile(lat, 99))/1e3, "p99-µs")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

// percentile is the nearest-rank p-th percentile of sorted latencies.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100 // ceil(n·p/100), 1-based
	return sorted[max(i-1, 0)]
}

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
