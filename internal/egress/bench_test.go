package egress

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// BenchmarkLatency measures one loopback GET three ways, side by side:
// straight to the upstream, as a call of the http kind's tool through the
// engine, and through the proxy with a real http.Client. Each reports its
// p50 in microseconds; the proxy's cost is its p50 less the tool's.
//
//	go test -run '^$' -bench Latency -benchtime 2000x ./internal/egress
func BenchmarkLatency(b *testing.B) {
	e := newEnv(b, envOpts{})
	target := e.plain.URL + "/v1/items/1"

	b.Run("direct", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{}}
		p50(b, func() {
			resp, err := c.Get(target)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	})
	b.Run("tool", func(b *testing.B) {
		args, _ := json.Marshal(map[string]any{"method": "GET", "path": "/v1/items/1"})
		call := core.Call{Agent: "bot", Tool: "api_request", Args: args}
		p50(b, func() {
			if out := e.eng.Call(context.Background(), call, engine.CallOptions{}); out.Status != engine.StatusOK {
				b.Fatal(out.Message)
			}
		})
	})
	b.Run("proxy", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: e.addr})}}
		p50(b, func() {
			resp, err := c.Get(target)
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(resp, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	})
}

// p50 runs f b.N times after a warm-up and reports the median duration.
func p50(b *testing.B, f func()) {
	for range 20 {
		f()
	}
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		f()
		durs = append(durs, time.Since(t0))
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds())/1e3, "p50-µs")
}
