// Package httpbench holds issue 5's HTTP benchmark (httpbench_test.go):
// the same GET requests sent to one loopback upstream directly with a Go
// http.Client and through Warden's whole pipeline (engine.Call of
// api_request, audit log on), in one run, for a small and a 64 KiB JSON
// body, one request at a time and with several in flight.
//
// Run it with bench/http.sh, which prints the medians as a markdown table
// (see bench/README.md, "HTTP (issue 5)").
package httpbench
