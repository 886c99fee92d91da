package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
)

// TestResponse_OtherSecretAtTheCut serves a body in which another of the
// policy's secrets (not this resource's credential) straddles the response
// limit: the part before the cut is redacted, not handed out as a prefix
// that the engine, seeing no whole secret, would let through.
func TestResponse_OtherSecretAtTheCut(t *testing.T) {
	const other = "wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v"
	const limit = 64
	for cut := 1; cut < len(other); cut += 5 {
		body := strings.Repeat("a", limit-cut) + other + " tail"
		up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(body))
		})
		s := spec(up.URL+"/v1/", func(s *Config) { s.Limits.MaxResponseBytes = limit })
		c, err := New(s, core.Host{Secrets: []core.Secret{core.NewSecret("env:OTHER", other)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		res, _, err := call(t, c, OpRequest, get("x"), allowAll)
		if err != nil {
			t.Fatal(err)
		}
		// The secret's first byte occurs nowhere else in the body.
		if res.Text == nil || strings.Contains(*res.Text, other[:1]) || !strings.HasPrefix(*res.Text, strings.Repeat("a", limit-cut)+redact.Marker[:min(cut, len(redact.Marker))]) {
			t.Errorf("cut %d bytes into the secret: text %q, want the secret's start redacted", cut, deref(res.Text))
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
