package e2e

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestHTTP_SessionFloodBounded: one agent's flood of initializes against
// warden serve --http opens no more sessions than --max-sessions-per-agent,
// each refusal is a 503 that names the cap, the other agent still works,
// and a 401 carries the Bearer challenge.
func TestHTTP_SessionFloodBounded(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, tokenPolicy)
	url := startHTTP(t, base, tokenEnv, "--max-sessions", "16", "--max-sessions-per-agent", "8")
	var (
		mu     sync.Mutex
		opened int
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, 16)
	for range 300 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, body := post(t, url, map[string]string{"Authorization": "Bearer reader-secret-token-1"}, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case code == http.StatusOK:
				opened++
			case code != http.StatusServiceUnavailable || !strings.Contains(body, "--max-sessions-per-agent"):
				t.Errorf("a refused session: %d %s", code, body)
			}
		}()
	}
	wg.Wait()
	if opened == 0 || opened > 8 {
		t.Fatalf("300 initializes by one agent opened %d sessions, want 1..8", opened)
	}
	lister, err := connectHTTP(t, url, "lister-secret-token-2", nil)
	if err != nil {
		t.Fatalf("the other agent after the flood: %v", err)
	}
	if names := toolNames(t, lister); len(names) == 0 {
		t.Fatal("the other agent lists no tools")
	}

	req, _ := http.NewRequest("POST", url, strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || got != `Bearer realm="warden"` {
		t.Errorf("no token: %d WWW-Authenticate %q, want 401 Bearer realm=\"warden\"", resp.StatusCode, got)
	}
}
