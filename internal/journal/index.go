package journal

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// index is a Store's in-memory view of the committed entries: enough to
// prune and to answer History without reading every entry file. It is
// brought up to date with the directory by sync, under Store.mu.
type index struct {
	entries map[string]*entryMeta
	refs    map[string]int   // object → entries that hold it
	sizes   map[string]int64 // object → size, while refs > 0
	bytes   int64            // total size of held objects
	oldest  time.Time        // earliest entry time; zero when empty
}

type entryMeta struct {
	time     time.Time
	resource string
	paths    []string // Path and To of every change
	objects  map[string]int64
}

func newIndex() *index {
	return &index{entries: map[string]*entryMeta{}, refs: map[string]int{}, sizes: map[string]int64{}}
}

func metaOf(ef *entryFile) *entryMeta {
	m := &entryMeta{time: ef.Time, resource: ef.Resource, objects: ef.Objects}
	for _, c := range ef.Changes {
		m.paths = append(m.paths, c.Path)
		if c.To != "" {
			m.paths = append(m.paths, c.To)
		}
	}
	return m
}

func (x *index) add(id string, m *entryMeta) {
	if _, ok := x.entries[id]; ok {
		return
	}
	x.entries[id] = m
	for sha, size := range m.objects {
		if x.refs[sha] == 0 {
			x.sizes[sha] = size
			x.bytes += size
		}
		x.refs[sha]++
	}
	if x.oldest.IsZero() || m.time.Before(x.oldest) {
		x.oldest = m.time
	}
}

func (x *index) remove(id string) {
	m, ok := x.entries[id]
	if !ok {
		return
	}
	delete(x.entries, id)
	for sha := range m.objects {
		if x.refs[sha]--; x.refs[sha] <= 0 {
			x.bytes -= x.sizes[sha]
			delete(x.refs, sha)
			delete(x.sizes, sha)
		}
	}
	if !m.time.After(x.oldest) {
		x.oldest = time.Time{}
		for _, o := range x.entries {
			if x.oldest.IsZero() || o.time.Before(x.oldest) {
				x.oldest = o.time
			}
		}
	}
}

// sync makes the index match the entries directory: it reads entries other
// Stores committed and forgets those they pruned. An entry that cannot be
// parsed is left out: Entry reports it as corrupt.
func (x *index) sync(s *Store) error {
	names, err := readNames(s.entries)
	if err != nil {
		return fmt.Errorf("list entries: %w", err)
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		id, ok := strings.CutSuffix(name, entryExt)
		if !ok || !validID(id) {
			continue
		}
		seen[id] = true
		if _, ok := x.entries[id]; ok {
			continue
		}
		ef, err := s.readEntry(id)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			continue
		}
		if err != nil {
			return err
		}
		x.add(id, metaOf(ef))
	}
	for id := range x.entries {
		if !seen[id] {
			x.remove(id)
		}
	}
	return nil
}
