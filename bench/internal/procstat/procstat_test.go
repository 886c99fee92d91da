package procstat

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	in := "Name:\twarden\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\n" +
		"RssAnon:\t    6144 kB\nRssFile:\t   34816 kB\nRssShmem:\t       0 kB\nThreads:\t7\n"
	m, err := parseStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Memory{RSS: 40960 << 10, HWM: 51234 << 10, Anon: 6144 << 10}
	if m != want {
		t.Errorf("parseStatus = %+v, want %+v", m, want)
	}
	for _, bad := range []string{"VmRSS:\t12x kB\n", "RssAnon:\t kB\n"} {
		if _, err := parseStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("parseStatus(%q) = nil error, want one", bad)
		}
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.Anon <= 0 || m.RSS < m.Anon || m.HWM < m.RSS {
		t.Errorf("ReadMemory(self) = %+v: want 0 < Anon <= RSS <= HWM", m)
	}
}
