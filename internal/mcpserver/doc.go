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
// cross-site requests.
package mcpserver
