package egress

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestPlain_PendingApprovalAndUpstreamFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now
	e := newEnv(t, envOpts{policy: func(plain, _ *recorder, _ string) string {
		return fmt.Sprintf(`version: 1
resources:
  api:
    kind: http
    base_url: http://127.0.0.1:%s/v1/
    allow_private: [127.0.0.1/32]
  gone:
    kind: http
    base_url: http://127.0.0.1:%s/
    allow_private: [127.0.0.1/32]
agents:
  bot:
    grants:
      - {resource: api, actions: [GET], approval: required}
      - {resource: gone, actions: [GET]}
`, plain.port(), closedPort)
	}})
	c := e.client()
	resp, err := c.Get(e.plain.URL + "/v1/items/1")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 403 || resp.Header.Get(headerReason) != "approval-required" || resp.Header.Get(headerApproval) == "" {
		t.Errorf("approval: %d %q %q %s", resp.StatusCode, resp.Header.Get(headerReason), resp.Header.Get(headerApproval), body)
	}
	if e.plain.requests.Load() != 0 {
		t.Error("a call waiting for approval reached the upstream")
	}
	resp, err = c.Get("http://127.0.0.1:" + closedPort + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != 502 || resp.Header.Get(headerReason) != "upstream-failed" {
		t.Errorf("upstream down: %d %q %s", resp.StatusCode, resp.Header.Get(headerReason), body)
	}
}

func TestNew_SaysWhatATunnelCannotEnforce(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	newEnv(t, envOpts{cfg: func(c *Config) { c.Logger = logger }})
	if !strings.Contains(logs.String(), "resource=secure") || !strings.Contains(logs.String(), "TLS inspection") {
		t.Errorf("no warning for the restricted https resource: %s", logs.String())
	}
	if strings.Contains(logs.String(), "resource=api") {
		t.Errorf("a warning for the plain http resource, whose rules apply: %s", logs.String())
	}

	logs.Reset()
	newEnv(t, envOpts{inspect: true, cfg: func(c *Config) { c.Logger = logger }})
	if strings.Contains(logs.String(), "TLS inspection") {
		t.Errorf("a warning with inspection on: %s", logs.String())
	}
}

func TestRestricted(t *testing.T) {
	all := "[GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS]"
	cases := []struct {
		grants string
		want   bool
	}{
		{"- {resource: echo, actions: " + all + "}", false},
		{"- {resource: echo, actions: " + all + ", paths: [\"/**\"]}", false},
		{"- {resource: echo, actions: [GET]}", true},
		{"- {resource: echo, actions: " + all + ", paths: [\"/v1/**\"]}", true},
		{"- {resource: echo, actions: " + all + ", when: 'args.path != \"/x\"'}", true},
		{"- {resource: echo, actions: " + all + ", headers: [accept]}", true},
		{"- {resource: echo, actions: " + all + ", approval: required}", true},
	}
	for _, tc := range cases {
		src := "version: 1\nresources:\n  echo:\n    kind: http\n    base_url: https://127.0.0.1:9/\n    allow_private: [127.0.0.1/32]\nagents:\n  bot:\n    grants:\n      " + tc.grants + "\n"
		e := newEnv(t, envOpts{policy: func(*recorder, *recorder, string) string { return src }})
		if got := e.proxy.routes[0].restricted; got != tc.want {
			t.Errorf("%s: restricted = %v, want %v", tc.grants, got, tc.want)
		}
	}
}
