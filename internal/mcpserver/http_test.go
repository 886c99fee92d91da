package mcpserver

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		name   string
		opts   HTTPOptions
		host   string
		origin string
		want   int
	}{
		{"loopback ip", HTTPOptions{Addr: "127.0.0.1:8080"}, "127.0.0.1:8080", "", 200},
		{"localhost", HTTPOptions{Addr: "127.0.0.1:8080"}, "localhost:8080", "", 200},
		{"localhost upper case", HTTPOptions{Addr: "127.0.0.1:8080"}, "LOCALHOST:8080", "", 200},
		{"ipv6 loopback", HTTPOptions{Addr: "[::1]:8080"}, "[::1]:8080", "", 200},
		{"no port", HTTPOptions{Addr: "127.0.0.1:8080"}, "localhost", "", 200},
		{"other port", HTTPOptions{Addr: "127.0.0.1:8080"}, "localhost:9999", "", 403},
		{"rebinding name", HTTPOptions{Addr: "127.0.0.1:8080"}, "evil.example:8080", "", 403},
		{"rebinding to a private address", HTTPOptions{Addr: "127.0.0.1:8080"}, "10.0.0.5:8080", "", 403},
		{"allowed proxy name", HTTPOptions{Addr: "127.0.0.1:8080", AllowedHosts: []string{"warden.internal"}}, "warden.internal", "", 200},
		{"same-origin browser", HTTPOptions{Addr: "127.0.0.1:8080"}, "127.0.0.1:8080", "http://127.0.0.1:8080", 200},
		{"foreign origin", HTTPOptions{Addr: "127.0.0.1:8080"}, "127.0.0.1:8080", "https://evil.example", 403},
		{"localhost origin on another port", HTTPOptions{Addr: "127.0.0.1:8080"}, "127.0.0.1:8080", "http://localhost:3000", 403},
		{"allowed origin", HTTPOptions{Addr: "127.0.0.1:8080", AllowedOrigins: []string{"http://localhost:6274/"}}, "127.0.0.1:8080", "http://localhost:6274", 200},
		{"null origin", HTTPOptions{Addr: "127.0.0.1:8080"}, "127.0.0.1:8080", "null", 403},
		{"public listener own name", HTTPOptions{Addr: "203.0.113.7:443"}, "203.0.113.7:443", "", 200},
		{"public listener loopback name", HTTPOptions{Addr: "203.0.113.7:443"}, "localhost:443", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", nil)
			req.Host = tt.host
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rec := httptest.NewRecorder()
			guard(ok, tt.opts).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("guard(Host %q, Origin %q) = %d, want %d", tt.host, tt.origin, rec.Code, tt.want)
			}
		})
	}
}
