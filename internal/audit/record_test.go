package audit

import (
	"strings"
	"testing"
	"time"
)

func TestIDGen_uniqueAndIncreasing(t *testing.T) {
	var g idGen
	clock := fixedClock(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 10*time.Microsecond)
	const n = 100_000
	seen := make(map[string]bool, n)
	prev := ""
	for i := range n {
		id, err := g.next(clock())
		if err != nil {
			t.Fatalf("next() error: %v", err)
		}
		if len(id) != 26 || strings.Trim(id, crockford) != "" || id[0] > '7' {
			t.Fatalf("next() = %q, want 26 Crockford base32 characters starting 0-7", id)
		}
		if seen[id] {
			t.Fatalf("next() #%d = %q, a repeat", i, id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("next() #%d = %q, not after %q", i, id, prev)
		}
		prev = id
	}
}

func TestIDGen_acrossMilliseconds(t *testing.T) {
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b time.Time
	}{
		{"next-ms", base, base.Add(time.Millisecond)},
		{"next-second", base, base.Add(time.Second)},
		{"next-year", base, base.AddDate(1, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Separate generators, as in separate processes: order comes
			// from the time prefix alone.
			for range 100 {
				var ga, gb idGen
				a, _ := ga.next(tt.a)
				b, _ := gb.next(tt.b)
				if a >= b {
					t.Fatalf("id at %v = %q, not before id at %v = %q", tt.a, a, tt.b, b)
				}
			}
		})
	}
}

func TestIDGen_clockStepsBack(t *testing.T) {
	var g idGen
	base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	a, _ := g.next(base)
	b, _ := g.next(base.Add(-time.Hour))
	if b <= a {
		t.Errorf("id after the clock stepped back = %q, want after %q", b, a)
	}
}

func TestEncodeID(t *testing.T) {
	tests := []struct {
		name   string
		hi, lo uint64
		want   string
	}{
		{"zero", 0, 0, "00000000000000000000000000"},
		{"one", 0, 1, "00000000000000000000000001"},
		{"max", ^uint64(0), ^uint64(0), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		// 1 ms after the epoch, no random bits: the time's 1 sits just
		// above the 80 random bits, in character 10 (bit 80 = 16*5).
		{"one-ms", 1 << 16, 0, "00000000010000000000000000"},
	}
	for _, tt := range tests {
		if got := encodeID(tt.hi, tt.lo); got != tt.want {
			t.Errorf("encodeID(%#x, %#x) = %q, want %q", tt.hi, tt.lo, got, tt.want)
		}
	}
}

func TestChecker_check(t *testing.T) {
	dir, recs := newFilledLog(t, 1, Options{})
	lines, _ := readLines(t, dir)
	good := string(lines[0])
	n := len(good)
	// forged hashes body correctly, as an unkeyed forger can.
	forged := func(body string) string {
		line, _ := rehash([]byte(body+hashKey+zeroHash+"\"}\n"), "")
		return string(line)
	}
	tests := []struct {
		name        string
		line        string
		wantProblem string
	}{
		{"good", good, ""},
		{"no-newline-suffix", good[:n-1] + " \n", "malformed record (no hash at the end of the line)"},
		{"short-hash", good[:n-5] + "\"}\n", "malformed record (no hash at the end of the line)"},
		{"upper-hex", good[:n-4] + "A" + good[n-3:], "malformed record (the hash is not 64 lower-case hex digits)"},
		{"edited", strings.Replace(good, `"alice"`, `"alicf"`, 1), "record edited (hash mismatch)"},
		{"too-short", "{}\n", "malformed record (no hash at the end of the line)"},
		{"not-json", forged(`{"seq":1,"event":call,"prev":"` + zeroHash + `"`), "malformed record (not valid JSON)"},
		{"seq-not-first", forged(`{"event":"call","seq":1,"prev":"` + zeroHash + `"`), "malformed record (seq is not the first field)"},
		{"prev-not-last", forged(`{"seq":1,"prev":"` + zeroHash + `","event":"call"`), "malformed record (prev is not the last field)"},
	}
	c := newChecker(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, problem := c.check([]byte(tt.line))
			if problem != tt.wantProblem {
				t.Errorf("check(%s) problem = %q, want %q", tt.line, problem, tt.wantProblem)
			}
			if problem == "" && (info.seq != 1 || info.prev != zeroHash || info.hash != recs[0].Hash) {
				t.Errorf("check(%s) = %+v, want seq 1, zero prev, hash %s", tt.line, info, recs[0].Hash)
			}
		})
	}
}
