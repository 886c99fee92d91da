package egress

import (
	"crypto/x509"
	"fmt"
	"testing"
)

func TestMITM_LeavesCachedAndBounded(t *testing.T) {
	cert, key := makeCA(t)
	m, err := newMITM(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.leaf("api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := m.leaf("api.example.com"); b != a {
		t.Error("a second leaf was made for the same host")
	}
	leaf, err := x509.ParseCertificate(a.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(m.ca)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "api.example.com", Roots: pool}); err != nil {
		t.Errorf("the leaf does not verify under the CA: %v", err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.example.com", Roots: pool}); err == nil {
		t.Error("the leaf verifies for another host")
	}
	for i := range maxLeaves + 50 {
		if _, err := m.leaf(fmt.Sprintf("h%d.example.com", i)); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.leaves) != maxLeaves || len(m.order) != maxLeaves {
		t.Errorf("%d leaves kept, %d in order; the bound is %d", len(m.leaves), len(m.order), maxLeaves)
	}
}

func TestMITM_RefusesNonCA(t *testing.T) {
	cert, key := makeCA(t)
	other, _ := makeCA(t)
	if _, err := newMITM(other, key); err == nil {
		t.Error("a certificate with another's key was accepted")
	}
	if _, err := newMITM(cert, []byte("not a key")); err == nil {
		t.Error("a malformed key was accepted")
	}
}
