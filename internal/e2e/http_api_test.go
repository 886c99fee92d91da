package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// httpSecret is the API credential of these tests: long, with characters
// that every encoding changes.
const httpSecret = "sk_live/4xZq+9=&p%zT0k3n~!Wq"

// echoUpstream answers every request with what it received (method, URL,
// headers, body) in the body and in response headers, as a hostile or
// careless API would, and records what it saw.
type echoUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newEchoUpstream(t *testing.T) *echoUpstream {
	u := &echoUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		dump, _ := json.Marshal(map[string]any{"method": r.Method, "url": r.URL.String(), "headers": r.Header, "body": string(body)})
		all := string(dump) + r.Header.Get("Authorization") + r.Header.Get("X-Api-Key") + r.URL.Query().Get("api_key")
		u.mu.Lock()
		u.seen = append(u.seen, all)
		u.mu.Unlock()
		w.Header().Set("X-Request-Id", all)
		w.Header().Set("Link", base64.StdEncoding.EncodeToString([]byte(all)))
		w.Header().Set("Set-Cookie", "session="+url.QueryEscape(all))
		switch r.URL.Path {
		case "/v1/moved":
			w.Header().Set("Location", "/v1/keys/"+url.PathEscape(all))
			w.WriteHeader(http.StatusFound)
		case "/v1/broken":
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "internal error; request was %s; hex %s", all, hex.EncodeToString([]byte(all)))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write(dump)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// TestHTTPAPI_CredentialNeverReachesTheModel runs the real binary over
// stdio against an upstream that echoes everything back, for each kind
// of credential, and looks for the credential in every form in what the
// model got, in Warden's log, in the audit log and in the approvals.
func TestHTTPAPI_CredentialNeverReachesTheModel(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + httpSecret))
	forms := []string{
		httpSecret, url.QueryEscape(httpSecret), url.PathEscape(httpSecret),
		base64.StdEncoding.EncodeToString([]byte(httpSecret)), hex.EncodeToString([]byte(httpSecret)), basic,
		httpSecret[:12], httpSecret[len(httpSecret)-12:],
	}
	for _, auth := range []string{
		`{bearer: env:API_SECRET}`,
		`{header: X-Api-Key, secret: env:API_SECRET}`,
		`{query: api_key, secret: env:API_SECRET}`,
		`{basic: {username: bob, password: env:API_SECRET}}`,
	} {
		t.Run(strings.Trim(strings.Fields(auth)[0], "{:"), func(t *testing.T) {
			up := newEchoUpstream(t)
			base := t.TempDir()
			writePolicy(t, base, fmt.Sprintf(`version: 1
resources:
  api:
    kind: http
    base_url: %s/v1/
    allow_private: [127.0.0.1/32]
    auth: %s
agents:
  agent:
    grants:
      - resource: api
        actions: [GET]
        paths: ["/v1/echo", "/v1/moved", "/v1/broken"]
      - resource: api
        actions: [POST]
        paths: ["/v1/echo"]
        approval: required
`, up.URL, auth))
			var logs bytes.Buffer
			env := []string{"API_SECRET=" + httpSecret}
			cmd := warden(t, base, env, "serve", "--log-level", "debug")
			cmd.Stderr = &logs
			cs := connectCmd(t, cmd, nil)

			var model strings.Builder
			for _, args := range []map[string]any{
				{"method": "GET", "path": "echo", "query": map[string]any{"q": "x"}},
				{"method": "GET", "path": "moved"},
				{"method": "GET", "path": "broken"},
				{"method": "POST", "path": "echo", "body": map[string]any{"note": "hi"}},
				{"method": "GET", "path": "echo", "headers": map[string]any{"Authorization": "Bearer mine"}},
			} {
				res := callTool(t, cs, "api_request", args)
				b, _ := json.Marshal(res)
				model.Write(b)
			}
			cs.Close()

			up.mu.Lock()
			seen := strings.Join(up.seen, "\n")
			up.mu.Unlock()
			if !strings.Contains(seen, httpSecret) && !strings.Contains(seen, url.QueryEscape(httpSecret)) && !strings.Contains(seen, basic) {
				t.Fatalf("the upstream never received the credential; the test proves nothing: %s", seen)
			}
			state := readTree(t, filepath.Join(base, ".warden"))
			for _, where := range []struct{ name, text string }{
				{"the model's results", model.String()}, {"Warden's log", logs.String()}, {"the state directory", state},
			} {
				if where.text == "" {
					t.Errorf("%s is empty; nothing was checked", where.name)
				}
				for _, f := range forms {
					if strings.Contains(where.text, f) {
						t.Errorf("%s holds %q", where.name, f)
					}
				}
			}
			if !strings.Contains(model.String(), "[REDACTED]") {
				t.Errorf("nothing was redacted in the results; was the echo returned at all? %s", clip(model.String()))
			}
		})
	}
}

// readTree concatenates every file below dir.
func readTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			b.Write(data)
		}
		return nil
	})
	return b.String()
}
