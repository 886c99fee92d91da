//go:build linux

package sandbox_test

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/sandbox"
)

// recordingListener counts the connections made to a host address.
func recordingListener(t *testing.T, network, addr string) (net.Listener, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return ln, &n
}

// TestRun_egress gives the program its one way out: the listener the
// caller serves answers it, while a host listener on loopback, the same
// port number on ::1 and a bind of its own are refused.
func TestRun_egress(t *testing.T) {
	needSandbox(t)
	needPython(t)
	host, hits := recordingListener(t, "tcp4", "127.0.0.1:0")
	hostPort := host.Addr().(*net.TCPAddr).Port
	var served atomic.Int64
	script := `
import os, socket
print("proxy", os.environ.get("HTTP_PROXY"), os.environ.get("https_proxy"))
s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
s.sendall(b"hello\n")
print("answer", s.makefile().readline().strip())
for name, fam, addr in [("host", socket.AF_INET, ("127.0.0.1", ` + itoa(hostPort) + `)), ("v6", socket.AF_INET6, ("::1", 3128))]:
    try:
        c = socket.socket(fam, socket.SOCK_STREAM); c.settimeout(3); c.connect(addr); print(name, "CONNECTED")
    except OSError as e:
        print(name, "refused", e.errno)
try:
    b = socket.socket(); b.bind(("127.0.0.1", 8080)); b.listen(); print("bind BOUND")
except OSError as e:
    print("bind refused", e.errno)
`
	r := run(t, sandbox.Command{
		Program: python, Args: []string{"-c", script},
		Egress: func(ln net.Listener) {
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					served.Add(1)
					line, _ := bufio.NewReader(c).ReadString('\n')
					c.Write([]byte("echo " + line))
					c.Close()
				}
			}()
		},
	})
	out := string(r.Stdout)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.ExitCode, out, r.Stderr)
	}
	for _, want := range []string{"proxy http://127.0.0.1:3128 http://127.0.0.1:3128", "answer echo hello", "host refused", "v6 refused", "bind refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if served.Load() != 1 {
		t.Errorf("the egress listener served %d connections, want 1", served.Load())
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the host's listener saw %d connections from the sandbox", n)
	}
}

// TestRun_egressNotWithoutNamespaces: with the network namespace switched
// off there is no network of the sandbox's own to listen in, so nothing
// runs.
func TestRun_egressNotWithoutNamespaces(t *testing.T) {
	needSandbox(t)
	sandbox.SwitchOff(t, sandbox.LayerNamespaces)
	_, err := sandbox.Run(context.Background(), sandbox.Command{Program: sh, Args: []string{"-c", "true"}, Egress: func(ln net.Listener) {}})
	if err == nil || !strings.Contains(err.Error(), "network namespace") {
		t.Fatalf("got %v, want a refusal naming the network namespace", err)
	}
}

// TestRun_stdioAndSignals: the program's output goes to the caller's file
// as it is written, a signal reaches a program that handles it, and
// NoTimeLimit lets it run past the default wall limit's checks.
func TestRun_stdioAndSignals(t *testing.T) {
	needSandbox(t)
	needPython(t)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	sigs := make(chan os.Signal, 1)
	done := make(chan sandbox.Result, 1)
	go func() {
		defer outW.Close()
		r, err := sandbox.Run(context.Background(), sandbox.Command{
			Program: python,
			Args:    []string{"-c", "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\nprint('ready', flush=True)\ntime.sleep(60)"},
			Stdio:   &sandbox.Stdio{Stdout: outW},
			Signals: sigs,
			Limits:  sandbox.Limits{Wall: sandbox.NoTimeLimit, CPU: sandbox.NoTimeLimit},
		})
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	sigs <- syscall.SIGTERM
	select {
	case r := <-done:
		if r.ExitCode != 7 || len(r.Stdout) != 0 {
			t.Fatalf("exit %d, captured %q; want 7 and nothing captured", r.ExitCode, r.Stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the signal did not reach the program")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
