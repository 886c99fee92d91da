package inside

import (
	"reflect"
	"syscall"
	"testing"
)

var sampleSpec = Spec{
	Program: "/usr/bin/go", Argv: []string{"go", "test", "", "a\x00b"}, Env: []string{"HOME=/tmp"}, Dir: "/work/repo",
	Mounts:   []Mount{{Path: "/work/repo", Dir: true, Write: true, Scratch: "/state/exec/1"}, {Path: "/etc/gitconfig"}},
	TmpBytes: 64 << 20, Rlimits: []Rlimit{{Resource: 6, Value: 256}, {Resource: 0, Value: 1 << 40}},
	Namespaces: true, LandlockRead: 0x7, LandlockWrite: 0x7fff,
	Filter: []syscall.SockFilter{{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}},
	Off:    []string{LayerSeccomp},
}

func TestSpec_roundTrip(t *testing.T) {
	for _, s := range []Spec{sampleSpec, {Argv: []string{}, Env: []string{}, Mounts: []Mount{}, Rlimits: []Rlimit{}, Filter: []syscall.SockFilter{}, Off: []string{}}} {
		got, err := decodeSpec(s.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, s) {
			t.Errorf("decoded\n%+v\nwant\n%+v", *got, s)
		}
	}
}

func TestSpec_rejectsDamage(t *testing.T) {
	b := sampleSpec.Encode()
	for i := range len(b) {
		if _, err := decodeSpec(b[:i]); err == nil {
			t.Errorf("a spec cut to %d of %d bytes decoded", i, len(b))
		}
	}
	if _, err := decodeSpec(append(b, 0)); err == nil {
		t.Error("a spec with a trailing byte decoded")
	}
}

func FuzzDecodeSpec(f *testing.F) {
	f.Add(sampleSpec.Encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSpec(b)
		if err != nil {
			return
		}
		again, err := decodeSpec(s.Encode())
		if err != nil || !reflect.DeepEqual(s, again) {
			t.Fatalf("re-encoding %+v gave %+v, %v", s, again, err)
		}
	})
}
