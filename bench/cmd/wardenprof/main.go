// Command wardenprof is warden with a CPU profile, for finding where the
// benchmark's time goes. It runs exactly what cmd/warden runs (cli.Main);
// when $WARDEN_BENCH_CPUPROFILE names a file it also profiles the process
// from start to exit and writes the profile there. The variable is a bench
// knob, not part of Warden's interface.
//
//	WARDEN_BENCH_CPUPROFILE=warden.pprof wardenprof serve
//	go tool pprof -top wardenprof warden.pprof
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/warden-dev/warden/internal/cli"
	_ "github.com/warden-dev/warden/internal/connector/all" // as cmd/warden links them
)

func main() {
	os.Exit(run())
}

func run() int {
	if p := os.Getenv("WARDEN_BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "wardenprof: %v\n", err)
			return cli.ExitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "wardenprof: %v\n", err)
			return cli.ExitUsage
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
