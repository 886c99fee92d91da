package redact

import (
	"bytes"
	"strings"
)

// Every form of every value is looked for in one pass over the input: a
// position is checked against the patterns only when its first four bytes
// may start one (a bit set on their hash, then a map), so the cost is a
// few nanoseconds a byte whatever the number of patterns. Patterns shorter
// than four bytes (forms of very short values) are searched one by one.

const prefixLen = 4

// prefixIndex finds the patterns that start with given four bytes.
type prefixIndex struct {
	bits  [1 << 16 / 64]uint64
	pats  map[uint32][]int // prefix → indexes into patterns
	short []int            // patterns shorter than prefixLen
}

func prefixOf[T string | []byte](s T, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func prefixHash(x uint32) uint32 { return (x * 2654435761) >> 16 }

func newPrefixIndex(patterns []string) *prefixIndex {
	x := &prefixIndex{pats: map[uint32][]int{}}
	for i, p := range patterns {
		if len(p) < prefixLen {
			x.short = append(x.short, i)
			continue
		}
		k := prefixOf(p, 0)
		x.pats[k] = append(x.pats[k], i)
		h := prefixHash(k)
		x.bits[h/64] |= 1 << (h % 64)
	}
	return x
}

// scan returns the merged spans of every pattern in s, sorted by start,
// or nil if nothing matches. Overlapping occurrences are all found.
func scan[T string | []byte](r *Redactor, s T) []span {
	var spans []span
	for _, pi := range r.index.short {
		p := r.patterns[pi]
		for from := 0; from+len(p) <= len(s); {
			j := indexOf(s[from:], p)
			if j < 0 {
				break
			}
			spans = append(spans, span{from + j, from + j + len(p)})
			from += j + 1
		}
	}
	for i := 0; i+prefixLen <= len(s); i++ {
		k := prefixOf(s, i)
		h := prefixHash(k)
		if r.index.bits[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, pi := range r.index.pats[k] {
			p := r.patterns[pi]
			if len(p) <= len(s)-i && string(s[i:i+len(p)]) == p {
				spans = append(spans, span{i, i + len(p)})
			}
		}
	}
	if spans == nil {
		return nil
	}
	return merge(spans)
}

func indexOf[T string | []byte](s T, p string) int {
	switch v := any(s).(type) {
	case string:
		return strings.Index(v, p)
	case []byte:
		return bytes.Index(v, []byte(p))
	}
	return -1
}
