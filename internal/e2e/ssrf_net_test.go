package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The SSRF corpus runs in a network namespace of its own, where every IPv4
// and IPv6 address is local (a "local" route for 0.0.0.0/0 and ::/0 on
// lo): a connection to 169.254.169.254:80 or 10.0.0.1:22 lands on the
// test's own listener for that port, which records the address it was
// meant for. So "Warden never opened a connection to it" is observed, not
// inferred from an error message, and no packet leaves the machine.

// netnsOptions re-executes a test inside a new user and network namespace
// (root inside, for the routes and ports below 1024), with /etc/resolv.conf
// pointing at the test's DNS server and a fixed /etc/hosts, and with the
// Go or the cgo (glibc) resolver forced.
func netnsOptions(resolver string) sandboxOptions {
	return sandboxOptions{
		args: func(dir string) []string {
			resolv := filepath.Join(dir, "resolv.conf")
			hosts := filepath.Join(dir, "hosts")
			os.WriteFile(resolv, []byte("nameserver 127.0.0.1\noptions attempts:1 timeout:2\n"), 0o644)
			os.WriteFile(hosts, []byte("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"), 0o644)
			return []string{
				"--unshare-user", "--uid", "0", "--gid", "0", "--unshare-net", "--cap-add", "ALL",
				"--ro-bind", resolv, "/etc/resolv.conf", "--ro-bind", hosts, "/etc/hosts",
			}
		},
		env: []string{"GODEBUG=netdns=" + resolver, "WARDEN_E2E_RESOLVER=" + resolver},
	}
}

// everyAddressLocal makes every address local in this network namespace.
func everyAddressLocal(t *testing.T) {
	t.Helper()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "local"},
		{"-6", "route", "add", "local", "::/0", "dev", "lo", "table", "local"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s (the test needs iproute2 inside its network namespace)", strings.Join(args, " "), err, out)
		}
	}
}

// fakeDNS answers A and AAAA queries from a table on 127.0.0.1:53 (UDP;
// TCP port 53 is one of the traps) and records every name asked.
type fakeDNS struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr // lowercase FQDN → addresses
	rebind  map[string][2]netip.Addr
	count   map[string]int
	asked   []string
}

func startDNS(t *testing.T, answers map[string][]netip.Addr, rebind map[string][2]netip.Addr) *fakeDNS {
	t.Helper()
	d := &fakeDNS{answers: map[string][]netip.Addr{}, rebind: map[string][2]netip.Addr{}, count: map[string]int{}}
	for k, v := range answers {
		d.answers[dns.Fqdn(strings.ToLower(k))] = v
	}
	for k, v := range rebind {
		d.rebind[dns.Fqdn(strings.ToLower(k))] = v
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:53")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: d}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

// set adds or replaces one name's answer.
func (d *fakeDNS) set(name string, addrs ...netip.Addr) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answers[dns.Fqdn(strings.ToLower(name))] = addrs
}

// take returns the names asked since the last call.
func (d *fakeDNS) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.asked
	d.asked = nil
	return out
}

func (d *fakeDNS) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Authoritative = true
	d.mu.Lock()
	for _, question := range q.Question {
		name := strings.ToLower(question.Name)
		d.asked = append(d.asked, name)
		addrs, ok := d.answers[name]
		if pair, isRebind := d.rebind[name]; isRebind {
			// A rebinding service: the first answer is public, the next
			// one internal, and so on, with a TTL of zero.
			if question.Qtype == dns.TypeA {
				addrs, ok = []netip.Addr{pair[d.count[name]%2]}, true
				d.count[name]++
			} else {
				addrs, ok = nil, true
			}
		}
		if !ok {
			m.Rcode = dns.RcodeNameError
			continue
		}
		for _, a := range addrs {
			hdr := dns.RR_Header{Name: question.Name, Class: dns.ClassINET, Ttl: 0}
			switch {
			case a.Is4() && question.Qtype == dns.TypeA:
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IP(a.AsSlice())})
			case a.Is6() && question.Qtype == dns.TypeAAAA:
				hdr.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())})
			}
		}
	}
	d.mu.Unlock()
	w.WriteMsg(m)
}

// trapHit is one connection a trap accepted: the address and port the
// client connected to.
type trapHit struct {
	dst netip.AddrPort
}

// traps listen on every address (the namespace makes them all local) at
// a set of ports, and record each connection's destination. Ports in tls
// speak HTTPS with a certificate from the test CA; the others plain HTTP.
type traps struct {
	mu   sync.Mutex
	hits []trapHit
}

func startTraps(t *testing.T, ports []int, tlsPorts map[int]bool, cert *tls.Certificate, h http.Handler) *traps {
	t.Helper()
	tr := &traps{}
	for _, port := range ports {
		ln, err := net.Listen("tcp", fmt.Sprintf("[::]:%d", port))
		if err != nil {
			t.Fatalf("trap on port %d: %v", port, err)
		}
		rec := &recordingListener{Listener: ln, traps: tr}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		// A fresh connection per request: each call resolves and dials
		// again, as a rebinding attack needs.
		srv.SetKeepAlivesEnabled(false)
		if tlsPorts[port] {
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
			go srv.ServeTLS(rec, "", "")
		} else {
			go srv.Serve(rec)
		}
		t.Cleanup(func() { srv.Close() })
	}
	return tr
}

// take returns the connections accepted since the last call.
func (tr *traps) take() []trapHit {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := tr.hits
	tr.hits = nil
	return out
}

type recordingListener struct {
	net.Listener
	traps *traps
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		if ap, perr := netip.ParseAddrPort(c.LocalAddr().String()); perr == nil {
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			l.traps.mu.Lock()
			l.traps.hits = append(l.traps.hits, trapHit{dst: ap})
			l.traps.mu.Unlock()
		}
	}
	return c, err
}

// testCA makes a CA and a server certificate for names and addresses,
// and writes the CA to a PEM file in dir.
func testCA(t *testing.T, dir string, names []string, addrs []netip.Addr) (*tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "warden test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "warden test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: names,
	}
	for _, a := range addrs {
		leaf.IPAddresses = append(leaf.IPAddresses, net.IP(a.AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}
