// Package procstat reads a process's memory from /proc, for the bench
// commands that watch a server they started.
package procstat

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident set in bytes: all of it now (VmRSS), at
// its peak (VmHWM), and its anonymous part now (RssAnon): the heap, stacks
// and other memory the process itself wrote, without the pages of its
// binary and other files mapped from the page cache. That part of VmRSS
// depends on what else the machine has done, so RssAnon is the figure that
// compares across runs.
type Memory struct{ RSS, HWM, Anon int64 }

// ReadMemory reads VmRSS, VmHWM and RssAnon from /proc/PID/status.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	defer f.Close()
	m, err := parseStatus(f)
	if err != nil {
		return Memory{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return m, nil
}

// parseStatus reads the VmRSS, VmHWM and RssAnon lines ("VmRSS:	  12345
// kB") of a /proc/PID/status file. A kernel thread or a zombie has none:
// zero.
func parseStatus(r io.Reader) (Memory, error) {
	var m Memory
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		dst := fields[k]
		if !ok || dst == nil {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %w", k, err)
		}
		*dst = kb << 10
	}
	return m, sc.Err()
}
