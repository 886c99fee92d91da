package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate (a CA when isCA) and its key
// into dir as cert.pem and key.pem.
func writeCert(t *testing.T, dir string, isCA bool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
}

// egressRest makes a policy valid around its settings.
const egressRest = "resources:\n  notes: {kind: fs, root: .}\nagents:\n  a:\n    grants: [{resource: notes, actions: [read]}]\n"

func TestSettings_EgressTLSInspection(t *testing.T) {
	const src = "version: 1\nsettings:\n  egress:\n    tls_inspection: {ca: file:cert.pem, key: file:key.pem}\n"
	dir := t.TempDir()
	writeCert(t, dir, true)
	p, err := Compile([]byte(src+egressRest), WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	ti := p.Settings().TLSInspection
	if ti == nil || !strings.Contains(string(ti.CertPEM), "BEGIN CERTIFICATE") || !strings.Contains(ti.Key.Reveal(), "PRIVATE KEY") {
		t.Fatalf("TLSInspection = %+v", ti)
	}
	if none, err := Compile([]byte("version: 1\n"+egressRest), WithBaseDir(dir)); err != nil || none.Settings().TLSInspection != nil {
		t.Errorf("no egress settings: %v, %v", none, err)
	}
}

func TestSettings_EgressTLSInspectionErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"not a CA", "version: 1\nsettings:\n  egress:\n    tls_inspection: {ca: file:cert.pem, key: file:key.pem}\n", "policy.yaml:4:21: settings.egress.tls_inspection: the certificate is not a CA"},
		{"no key", "version: 1\nsettings:\n  egress:\n    tls_inspection: {ca: file:cert.pem}\n", "policy.yaml:4:21: settings.egress.tls_inspection: tls_inspection needs both ca and key"},
		{"missing file", "version: 1\nsettings:\n  egress:\n    tls_inspection: {ca: file:nope.pem, key: file:key.pem}\n", "policy.yaml:4:26"},
		{"unknown key", "version: 1\nsettings:\n  egress:\n    inspect: true\n", "policy.yaml:4:5"},
	}
	dir := t.TempDir()
	writeCert(t, dir, false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.src+egressRest), WithBaseDir(dir))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile = %v, want %q", err, tc.want)
			} else {
				t.Log(err)
			}
		})
	}
}
