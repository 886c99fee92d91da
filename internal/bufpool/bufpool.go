// Package bufpool lends large byte buffers for one call's data: a file
// read whole, its text escaped as JSON. For a 1 MiB read a fresh buffer a
// call costs more than the work done in it: the runtime zeroes it, the
// kernel faults its pages in, and the collector runs more often.
//
// A buffer from Get holds whatever its last user left in it. Put gives one
// back; the caller must hold the only reference to its memory, for the
// next Get hands it to someone else.
package bufpool

import (
	"math/bits"
	"sync"
)

// Pooled sizes go from 1<<minShift to 1<<maxShift bytes, two a power of
// two (2^k and 1.5*2^k), so a buffer is at most a third larger than
// asked. Smaller buffers are cheap to allocate, larger ones not kept.
const (
	minShift = 15 // 32 KiB
	maxShift = 24 // 16 MiB
)

var pools [2*(maxShift-minShift) + 1]sync.Pool // of *[]byte

// class returns the index of the pool for a size: the smallest pooled size
// at least n when up (for Get), the largest at most n otherwise (for Put);
// ok is false when no pooled size fits.
func class(n int, up bool) (i int, size int, ok bool) {
	if n <= 0 {
		return 0, 0, false
	}
	k := bits.Len(uint(n)) - 1 // 2^k <= n < 2^(k+1)
	half := 3 << k >> 1
	switch {
	case n == 1<<k:
		i, size = 2*(k-minShift), 1<<k
	case up && n <= half:
		i, size = 2*(k-minShift)+1, half
	case up:
		k++
		i, size = 2*(k-minShift), 1<<k
	case n >= half:
		i, size = 2*(k-minShift)+1, half
	default:
		i, size = 2*(k-minShift), 1<<k
	}
	return i, size, i >= 0 && i < len(pools)
}

// Get returns a buffer of length n, not zeroed: it may hold another
// call's bytes, so only what is written into it may be read.
func Get(n int) []byte {
	i, size, ok := class(n, true)
	if !ok {
		return make([]byte, n)
	}
	if p, _ := pools[i].Get().(*[]byte); p != nil {
		return (*p)[:n]
	}
	return make([]byte, n, size)
}

// Put gives b back for Get to lend again. The caller must hold the only
// reference to b's memory: nothing may read or write it afterwards.
func Put(b []byte) {
	i, _, ok := class(cap(b), false)
	if !ok {
		return
	}
	b = b[:0]
	pools[i].Put(&b)
}
