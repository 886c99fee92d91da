package fs

import (
	"sync"

	"golang.org/x/sys/unix"
)

// release removes the file name from d off the call's path. name holds
// only what the call replaced or deleted, which the journal has kept
// first: removing it frees an inode, which can take longer than the write
// itself (file systems mounted with discard trim the freed blocks there
// and then), and the call's result does not depend on it. A name left
// behind (by a crash, or a failed removal) is a temporary file that a
// later sweep removes. Close waits for pending removals.
//
// The removal runs once d is closed, on d's own descriptor, which it then
// closes: a call releases one name, so it needs no descriptor of its own.
// Under a root in memory (tmpfs) it runs then and there: freeing a file
// there trims nothing, and costs less than a goroutine.
func (c *Connector) release(d *dirHandle, name string) {
	if d.release == "" {
		d.release = name
		if o, err := c.current(""); err != nil || !o.inMemory {
			d.bg = c.releasing
		}
		return
	}
	fd := -1
	err := d.control(func(dfd int) error {
		var err error
		fd, err = unix.FcntlInt(uintptr(dfd), unix.F_DUPFD_CLOEXEC, 0)
		return err
	})
	if err != nil {
		d.unlink(name, false)
		return
	}
	c.releasing.run(func() {
		unix.Unlinkat(fd, name, 0)
		unix.Close(fd)
	})
}

// background runs functions in goroutines, at most a fixed number at once,
// and waits for them. Unlike a sync.WaitGroup, it may be waited for while
// functions are still being started.
type background struct {
	slots  chan struct{}
	waitMu sync.Mutex
}

func newBackground(n int) *background {
	return &background{slots: make(chan struct{}, n)}
}

// run starts f, after waiting for a free slot.
func (b *background) run(f func()) {
	b.slots <- struct{}{}
	go func() {
		defer func() { <-b.slots }()
		f()
	}()
}

// wait returns once every function started before it has returned.
func (b *background) wait() {
	b.waitMu.Lock()
	defer b.waitMu.Unlock()
	for range cap(b.slots) {
		b.slots <- struct{}{}
	}
	for range cap(b.slots) {
		<-b.slots
	}
}
