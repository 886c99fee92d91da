package egress

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// echoServer is a TCP server that echoes what it reads; it stands for an
// https host, since an uninspected tunnel carries bytes, not TLS.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func echoPolicy(port string) func(plain, secure *recorder, caFile string) string {
	return func(*recorder, *recorder, string) string {
		return fmt.Sprintf(`version: 1
resources:
  echo:
    kind: http
    base_url: https://127.0.0.1:%s/
    allow_private: [127.0.0.1/32]
agents:
  bot:
    grants:
      - {resource: echo, actions: [GET]}
`, port)
	}
}

// tunnel opens a CONNECT tunnel to target and returns the connection.
func tunnel(t *testing.T, addr, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT = %v, %v", resp, err)
	}
	return c, br
}

// closedByProxy reads until the connection ends and reports whether the
// proxy ended it (EOF or reset), not our own 10 s deadline.
func closedByProxy(c net.Conn, r io.Reader) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, r)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestTunnel_Bounds(t *testing.T) {
	port := echoServer(t)
	target := "127.0.0.1:" + port

	t.Run("bytes", func(t *testing.T) {
		e := newEnv(t, envOpts{policy: echoPolicy(port), cfg: func(c *Config) { c.TunnelMaxBytes = 1 << 10 }})
		c, br := tunnel(t, e.addr, target)
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo = %q, %v", buf, err)
		}
		c.Write([]byte(strings.Repeat("x", 4<<10)))
		if !closedByProxy(c, br) {
			t.Error("the tunnel outlived its byte limit")
		}
	})
	t.Run("idle", func(t *testing.T) {
		e := newEnv(t, envOpts{policy: echoPolicy(port), cfg: func(c *Config) { c.TunnelIdle = 200 * time.Millisecond }})
		c, br := tunnel(t, e.addr, target)
		if !closedByProxy(c, br) {
			t.Error("an idle tunnel was kept open")
		}
	})
	t.Run("duration", func(t *testing.T) {
		e := newEnv(t, envOpts{policy: echoPolicy(port), cfg: func(c *Config) { c.TunnelMaxDuration = 200 * time.Millisecond }})
		c, br := tunnel(t, e.addr, target)
		if !closedByProxy(c, br) {
			t.Error("the tunnel outlived its duration")
		}
	})
	t.Run("close", func(t *testing.T) {
		e := newEnv(t, envOpts{policy: echoPolicy(port)})
		c, br := tunnel(t, e.addr, target)
		e.proxy.Close()
		if !closedByProxy(c, br) {
			t.Error("Close left a tunnel open")
		}
	})
}

func TestMaxConns(t *testing.T) {
	port := echoServer(t)
	e := newEnv(t, envOpts{policy: echoPolicy(port), cfg: func(c *Config) { c.MaxConns = 1 }})
	first, _ := tunnel(t, e.addr, "127.0.0.1:"+port)

	second, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	fmt.Fprintf(second, "CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: x\r\n\r\n", port)
	second.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, _ := second.Read(make([]byte, 1)); n != 0 {
		t.Fatal("a connection over the limit was served while the first was open")
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(second), &http.Request{Method: http.MethodConnect})
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("after the first closed: %v, %v", resp, err)
	}
}
