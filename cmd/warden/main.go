// Command warden guards what LLM agents may do with files, databases and
// APIs. All of its behaviour lives in package cli; main only wires it to
// the process and links in the resource kinds.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/warden-dev/warden/internal/cli"
	_ "github.com/warden-dev/warden/internal/connector/all" // the resource kinds of this build
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
