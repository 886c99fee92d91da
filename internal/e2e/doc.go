// Package e2e holds Warden's end-to-end tests: they run the real warden
// command (this package's test binary re-executes itself as warden) over
// stdio and streamable HTTP and drive it with the official MCP Go SDK
// client, as a user's MCP client would.
package e2e
