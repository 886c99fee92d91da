package sandbox

import (
	"os"
	"path/filepath"
	"strings"
)

// systemPaths are the files the Go standard library may open after Warden
// has started, each with the package that opens it. The runtime's own
// start-up reads (/sys/kernel/mm/transparent_hugepage, the cgroup CPU
// limit, whose files it keeps open) happen before any restriction, so they
// are not here. Directories holding private keys (/etc/ssl/private,
// /etc/pki/tls/private) are left out on purpose.
var systemPaths = []Path{
	// crypto/x509 loads the system roots at the first TLS handshake: the
	// first bundle it finds, then every file in the certificate directories.
	{Path: "/etc/ssl/certs", Dir: true, Why: "TLS roots"},
	{Path: "/etc/ssl/cert.pem", Why: "TLS roots"},
	{Path: "/etc/ssl/ca-bundle.pem", Why: "TLS roots"},
	{Path: "/etc/pki/tls/certs", Dir: true, Why: "TLS roots"},
	{Path: "/etc/pki/tls/cacert.pem", Why: "TLS roots"},
	{Path: "/etc/pki/ca-trust/extracted", Dir: true, Why: "TLS roots"},
	// The bundles and certificate links above point into these.
	{Path: "/etc/ca-certificates", Dir: true, Why: "TLS roots"},
	{Path: "/usr/share/ca-certificates", Dir: true, Why: "TLS roots"},
	{Path: "/usr/local/share/ca-certificates", Dir: true, Why: "TLS roots"},
	// net reads these when it resolves a name, and again when they change.
	{Path: "/etc/resolv.conf", Why: "DNS"},
	{Path: "/etc/hosts", Why: "DNS"},
	{Path: "/etc/nsswitch.conf", Why: "DNS"},
	// glibc's resolver (the cgo one) reads these as well.
	{Path: "/etc/host.conf", Why: "DNS"},
	{Path: "/etc/gai.conf", Why: "DNS"},
	// time loads the local zone at its first use (log timestamps), and
	// other zones when a policy condition names one.
	{Path: "/etc/localtime", Why: "time zone"},
	{Path: "/usr/share/zoneinfo", Dir: true, Why: "time zones"},
	// Child processes get /dev/null for unused streams; crypto/rand reads
	// /dev/urandom only where getrandom(2) is missing.
	{Path: "/dev/null", Access: Write, Why: "null device"},
	{Path: "/dev/urandom", Why: "randomness fallback"},
}

// SystemPaths returns the system files and directories, read-only except
// /dev/null, that the Go runtime, TLS and DNS need once Warden runs: those
// of the list above that exist here, plus the certificate locations named
// by SSL_CERT_FILE and SSL_CERT_DIR, which crypto/x509 honours.
func SystemPaths() []Path {
	list := systemPaths
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		list = append(list, Path{Path: f, Why: "TLS roots (SSL_CERT_FILE)"})
	}
	if d := os.Getenv("SSL_CERT_DIR"); d != "" {
		for _, dir := range strings.Split(d, ":") {
			list = append(list, Path{Path: dir, Dir: true, Why: "TLS roots (SSL_CERT_DIR)"})
		}
	}
	var out []Path
	for _, p := range list {
		if !filepath.IsAbs(p.Path) {
			continue
		}
		fi, err := os.Stat(p.Path)
		if err != nil {
			continue
		}
		p.Dir = fi.IsDir()
		out = append(out, p)
	}
	return out
}
