package journal

import "time"

// SetCopyOnly makes s copy files instead of hard-linking them.
func SetCopyOnly(s *Store) { s.copyOnly = true }

// SetInMemory sets whether s runs its flushes one after the other, as on
// a file system in memory.
func SetInMemory(s *Store, v bool) { s.inMemory = v }

// InMemory reports whether s takes its journal for one in memory.
func InMemory(s *Store) bool { return s.inMemory }

// SetGrace sets how old a temp or hold file must be for Prune to remove it.
func SetGrace(s *Store, d time.Duration) { s.grace = d }

// SetCompactFloor sets how many bytes of the log must be waste before a
// prune compacts it for that alone.
func SetCompactFloor(s *Store, n int64) { s.compactFloor = n }

// SetInlineMax sets the largest file Keep stores in the entry line; a
// negative n makes every Keep link or copy.
func SetInlineMax(s *Store, n int64) { s.inlineMax = n }

// SetInlineTxMax sets how many bytes one Tx may keep inline.
func SetInlineTxMax(s *Store, n int64) { s.inlineTxMax = n }

// SetHotMax sets how many entries an index holds in memory before writing
// them to its table, for every Store, until the test ends.
func SetHotMax(t interface{ Cleanup(func()) }, n int) {
	old := hotMax
	hotMax = n
	t.Cleanup(func() { hotMax = old })
}
