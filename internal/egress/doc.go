// Package egress is Warden's HTTP/1.1 forward proxy: the only way out of a
// sandbox whose agent holds http grants, and usable on its own by agents
// Warden does not start (warden proxy).
//
// It serves one agent. A plain request (absolute URI) becomes a call of the
// agent's http tool through the engine, so policy, conditions, the dial-time
// address check, redirects, credentials, redaction, rate limits, approvals
// and audit apply exactly as to the tool. CONNECT opens a tunnel only to the
// host and port of an https resource granted to the agent, dialled through
// the http kind's own dialer; unless TLS inspection is configured, what
// travels inside is not seen, so method, path, query, header and when: rules
// cannot apply to it, and the proxy says so when it starts. With
// inspection, Warden terminates TLS with a leaf certificate signed by the
// operator's CA and handles each request inside as a plain one. Everything
// else is refused and audited with the host asked for.
package egress
