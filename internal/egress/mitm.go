package egress

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"time"
)

// maxLeaves bounds the leaf certificates kept; past it the oldest goes.
const maxLeaves = 256

// leafLife is how long a leaf is valid; it is made again before then.
const leafLife = 24 * time.Hour

// mitm makes leaf certificates for inspected tunnels, signed by the
// operator's CA.
type mitm struct {
	ca  *x509.Certificate
	key any // the CA's private key (crypto.Signer)

	mu     sync.Mutex
	leaves map[string]*leafEntry
	order  []string // hosts, oldest first
	// leafKey is one key shared by every leaf: making a key per host
	// would cost a millisecond each for nothing, as all leaves are
	// trusted through the same CA anyway.
	leafKey *ecdsa.PrivateKey
}

type leafEntry struct {
	cert    *tls.Certificate
	expires time.Time
}

func newMITM(certPEM, keyPEM []byte) (*mitm, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("the CA certificate and key do not load as a pair: %w", err)
	}
	ca, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("the CA certificate: %w", err)
	}
	if !ca.IsCA || ca.KeyUsage != 0 && ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("the certificate is not a CA that may sign certificates")
	}
	lk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &mitm{ca: ca, key: pair.PrivateKey, leaves: map[string]*leafEntry{}, leafKey: lk}, nil
}

// leaf returns a certificate for host, made once and kept until an hour
// before it expires.
func (m *mitm) leaf(host string) (*tls.Certificate, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.leaves[host]; e != nil && now.Before(e.expires.Add(-time.Hour)) {
		return e.cert, nil
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(leafLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca, &m.leafKey.PublicKey, m.key)
	if err != nil {
		return nil, fmt.Errorf("make a certificate: %w", err)
	}
	cert := &tls.Certificate{Certificate: [][]byte{der, m.ca.Raw}, PrivateKey: m.leafKey}
	if _, ok := m.leaves[host]; !ok {
		m.order = append(m.order, host)
		if len(m.order) > maxLeaves {
			delete(m.leaves, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.leaves[host] = &leafEntry{cert: cert, expires: tmpl.NotAfter}
	return cert, nil
}
