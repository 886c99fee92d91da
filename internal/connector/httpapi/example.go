package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// example is a working http resource anywhere: a small API on loopback
// that answers GET /v1/items/{id} with JSON, reached through allow_private.
// There is no Missing call: an API's 404 is a result the agent reads, not
// a failure.
var example = core.KindExample{
	Setup: func(string) (string, func(), error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", nil, fmt.Errorf("example API: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id"), "name": "example"})
		})
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		release := func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		}
		block := fmt.Sprintf(`{kind: http, base_url: "http://%s/v1/", allow_private: [127.0.0.1]}`, ln.Addr())
		return block, release, nil
	},
	Grant: `{actions: [GET], paths: ["/v1/items/*"]}`,
	Valid: core.Invocation{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"items/1"}`)},
	Invalid: []core.Invocation{
		{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"../admin"}`)},
		{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"/admin"}`)},
		{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"a%2fb"}`)},
		{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"x","headers":{"Host":"evil"}}`)},
		{Op: OpRequest, Args: json.RawMessage(`{"method":"GET","path":"x","headers":{"X-A":"1\r\nX-Injected: 1"}}`)},
		{Op: OpRequest, Args: json.RawMessage(`{"method":"CONNECT","path":"x"}`)},
	},
}
