package bufpool

import (
	"bytes"
	"testing"
)

func TestClass(t *testing.T) {
	for _, c := range []struct {
		n    int
		up   bool
		size int
		ok   bool
	}{
		{1 << 10, true, 0, false},
		{1<<15 - 1, true, 1 << 15, true},
		{1 << 15, true, 1 << 15, true},
		{1<<15 + 1, true, 3 << 14, true},
		{3 << 14, true, 3 << 14, true},
		{3<<14 + 1, true, 1 << 16, true},
		{1<<20 + 1<<16 + 2, true, 3 << 19, true},
		{1<<20 + 1<<16 + 2, false, 1 << 20, true},
		{3<<19 + 5, false, 3 << 19, true},
		{1 << 24, true, 1 << 24, true},
		{1<<24 + 1, true, 0, false},
		{1<<24 + 1, false, 1 << 24, true},
		{1<<14 + 1, false, 0, false},
	} {
		i, size, ok := class(c.n, c.up)
		if ok != c.ok || (ok && size != c.size) {
			t.Errorf("class(%d, %v) = %d, %d, %v; want size %d, %v", c.n, c.up, i, size, ok, c.size, c.ok)
			continue
		}
		switch {
		case !ok:
		case c.up:
			// A buffer allocated for a pool goes back to that pool.
			if j, _, _ := class(size, false); j != i {
				t.Errorf("a buffer of %d bytes from pool %d goes back to pool %d", size, i, j)
			}
		case size > c.n:
			t.Errorf("class(%d, down) = a size of %d, larger than the buffer", c.n, size)
		}
	}
}

// TestGetPut checks that a buffer given back is lent again whole, and that
// a buffer still held is never lent.
func TestGetPut(t *testing.T) {
	for _, n := range []int{100, 40 << 10, 1<<20 + 70<<10, 20 << 20} {
		held := Get(n)
		if len(held) != n {
			t.Fatalf("Get(%d) has length %d", n, len(held))
		}
		for i := range held {
			held[i] = 'h'
		}
		for range 5 {
			b := Get(n)
			if len(b) != n || cap(b) < n {
				t.Fatalf("Get(%d) = length %d, capacity %d", n, len(b), cap(b))
			}
			if &b[0] == &held[0] {
				t.Fatalf("Get(%d) lent a buffer that is still held", n)
			}
			for i := range b {
				b[i] = 'x'
			}
			Put(b)
		}
		if !bytes.Equal(held, bytes.Repeat([]byte("h"), n)) {
			t.Fatalf("a buffer still held was written to")
		}
		Put(held)
	}
}
