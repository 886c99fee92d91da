package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// TestDenySpellingsThroughEngine sends, through the whole pipeline, the
// spellings of a denied path that servers fold into it (issue 12: IIS drops
// trailing dots and spaces, Java's equalsIgnoreCase reads ı as i) and
// checks the upstream never saw them, while a granted path reaches it.
func TestDenySpellingsThroughEngine(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	e := testEngine(t, fmt.Sprintf(`version: 1
resources:
  api: {kind: http, base_url: "%s/v1/", allow_private: [127.0.0.1]}
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], paths: ["/v1/**"]}
    deny:
      - {resource: api, paths: ["/v1/public/admin/**", "/v1/keys/**", "/v1/class/**"]}
`, up.URL))
	get := func(path string) *engine.Outcome {
		args, _ := json.Marshal(map[string]string{"method": "GET", "path": path})
		return e.Call(context.Background(), core.Call{Agent: "bot", Tool: "api_request", Args: args}, engine.CallOptions{})
	}
	for _, path := range []string{
		"public/admin/x",
		"public/admin./x",
		"public/admin%2e/x",
		"public/admin%2E/x",
		"public/admin%20/x",
		"public/admin.%20./x",
		"public/admin.;x/y",
		"public/adm%C4%B1n/x",
		"public/ADM%C4%B0N/x",
		"public/adm\u0131n./x",
		"public/x/..%20/admin/y",
		"public/%EF%BD%81dmin/x",
		"%E2%84%AAeys/x",
		"cla%C3%9F/x",
	} {
		t.Run(path, func(t *testing.T) {
			before := up.requests.Load()
			out := get(path)
			if out.Status == engine.StatusOK {
				t.Fatalf("GET %s succeeded (%s), want it denied", path, out.Message)
			}
			if out.Reason != core.ReasonDenyRule && out.Reason != core.ReasonRequestRefused {
				t.Errorf("GET %s: reason %s (%s), want deny-rule or request-refused", path, out.Reason, out.Message)
			}
			if n := up.requests.Load() - before; n != 0 {
				t.Errorf("GET %s: the upstream saw %d request(s), want none", path, n)
			}
		})
	}
	// The same pipeline does reach the upstream for a granted path.
	if out := get("public/administrator"); out.Status != engine.StatusOK {
		t.Fatalf("GET public/administrator = %s (%s), want it allowed", out.Reason, out.Message)
	}
	if r, _ := up.last(t); r.URL.Path != "/v1/public/administrator" {
		t.Errorf("the upstream saw %s, want /v1/public/administrator", r.URL.Path)
	}
}
