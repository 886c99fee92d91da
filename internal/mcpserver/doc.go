// Package mcpserver is Warden's MCP face: it serves one agent's tools over
// stdio or streamable HTTP with the official Go SDK.
//
// Every tools/call goes to [engine.Engine.Call], so policy, approvals,
// limits and audit apply exactly as on every other face. A policy denial is
// a tool result with isError, a stable reason code and one sentence for the
// model, so it can correct itself; protocol faults (unknown tool, malformed
// request) are JSON-RPC errors.
//
// Over HTTP, bearer tokens from the policy map requests to agents and bind
// sessions to them; Host and Origin are checked against DNS rebinding and
// cross-site requests. Everything a client controls is bounded: sessions
// per agent and in total, idle sessions, connections, the time to send a
// request and to take each write of the answer, and the size of a message,
// which follows the policy's max_argument_bytes on both faces. On stdio, a
// line that is not a JSON-RPC message is answered with the error the
// specification names and the session goes on.
package mcpserver
