package mcpserver

import (
	"net/http"
	"runtime"
	"testing"
	"time"
)

// BenchmarkIdleSession opens sessions with a raw initialize each, as a
// client that never comes back would, and reports the memory one idle
// session holds (heap and goroutine stacks). Run it with -benchtime 2000x.
func BenchmarkIdleSession(b *testing.B) {
	url := startServer(b, twoAgentPolicy, HTTPOptions{MaxSessions: 1 << 20, MaxSessionsPerAgent: 1 << 20, SessionIdleTimeout: time.Hour})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	token := testTokens["ALICE_TOKEN"]
	rawPost(b, client, url, token, "", initializeBody) // warm up
	before := inUse()
	b.ResetTimer()
	for range b.N {
		if resp, body := rawPost(b, client, url, token, "", initializeBody); resp.StatusCode != http.StatusOK {
			b.Fatalf("session: %d %s", resp.StatusCode, body)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(inUse()-before)/float64(b.N), "bytes/session")
}

func inUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
