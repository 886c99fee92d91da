package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	in := "Name:\twarden\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\nThreads:\t7\n"
	m, err := parseStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 40960<<10 || m.HWM != 51234<<10 {
		t.Errorf("parseStatus = %+v, want RSS %d, HWM %d", m, 40960<<10, 51234<<10)
	}
	if _, err := parseStatus(strings.NewReader("VmRSS:\t12x kB\n")); err == nil {
		t.Error("a malformed VmRSS parsed without error")
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("ReadMemory(self) = %+v: want 0 < RSS <= HWM", m)
	}
}
