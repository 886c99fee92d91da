package inside

import (
	"encoding/binary"
	"errors"
	"syscall"
)

// Mount is a host file or directory shown in the sandbox at the same path.
type Mount struct {
	Path  string
	Dir   bool
	Write bool
	// Scratch, when set, makes the directory an overlay whose changes
	// land in Scratch/upper (Scratch/work is the overlay's own), leaving
	// the host's directory unchanged.
	Scratch string
}

// Spec is what the parent tells the sandbox's first process.
type Spec struct {
	Program  string
	Argv     []string
	Env      []string
	Dir      string
	Mounts   []Mount
	TmpBytes uint64
	Rlimits  []Rlimit
	// Namespaces reports whether the process is alone in new namespaces,
	// so that a root of its own is to be built.
	Namespaces bool
	// The access rights of the sandbox's own /proc (read) and /tmp
	// (write) in the parent's Landlock ruleset; zero without one.
	LandlockRead, LandlockWrite uint64
	// Filter is the assembled seccomp program; empty when seccomp is off.
	Filter []syscall.SockFilter
	// Off are layers a test switched off; never set from configuration.
	Off []string
	// Egress, when not zero, is the port of 127.0.0.1 on which the first
	// process listens for the parent (see NetFD): the program's only way
	// out of its network namespace.
	Egress uint16
}

// Rlimit is one resource limit, soft and hard alike.
type Rlimit struct {
	Resource int
	Value    uint64
}

// The spec travels in a small binary form of its own: encoding/json would
// delay this package's initialisation (see doc.go).

// Encode returns s in the form decodeSpec reads.
func (s *Spec) Encode() []byte {
	var b []byte
	str := func(v string) { b = binary.AppendUvarint(b, uint64(len(v))); b = append(b, v...) }
	strs := func(v []string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		for _, x := range v {
			str(x)
		}
	}
	num := func(v uint64) { b = binary.AppendUvarint(b, v) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	str(s.Program)
	strs(s.Argv)
	strs(s.Env)
	str(s.Dir)
	num(uint64(len(s.Mounts)))
	for _, m := range s.Mounts {
		str(m.Path)
		flag(m.Dir)
		flag(m.Write)
		str(m.Scratch)
	}
	num(s.TmpBytes)
	num(uint64(len(s.Rlimits)))
	for _, r := range s.Rlimits {
		num(uint64(r.Resource))
		num(r.Value)
	}
	flag(s.Namespaces)
	num(s.LandlockRead)
	num(s.LandlockWrite)
	num(uint64(len(s.Filter)))
	for _, f := range s.Filter {
		b = binary.LittleEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.LittleEndian.AppendUint32(b, f.K)
	}
	strs(s.Off)
	num(uint64(s.Egress))
	return b
}

var errSpec = errors.New("malformed sandbox spec")

// decodeSpec reads what Encode wrote; anything else is an error.
func decodeSpec(b []byte) (*Spec, error) {
	bad := false
	num := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	count := func(size int) int {
		n := num()
		if n > uint64(len(b)/size) { // each item takes at least size bytes
			bad = true
			return 0
		}
		return int(n)
	}
	str := func() string {
		n := count(1)
		v := string(b[:n])
		b = b[n:]
		return v
	}
	strs := func() []string {
		v := make([]string, count(1))
		for i := range v {
			v[i] = str()
		}
		return v
	}
	flag := func() bool {
		if len(b) == 0 || b[0] > 1 {
			bad = true
			return false
		}
		v := b[0] == 1
		b = b[1:]
		return v
	}
	s := &Spec{Program: str(), Argv: strs(), Env: strs(), Dir: str()}
	s.Mounts = make([]Mount, count(4))
	for i := range s.Mounts {
		s.Mounts[i] = Mount{Path: str(), Dir: flag(), Write: flag(), Scratch: str()}
	}
	s.TmpBytes = num()
	s.Rlimits = make([]Rlimit, count(2))
	for i := range s.Rlimits {
		s.Rlimits[i] = Rlimit{Resource: int(num()), Value: num()}
	}
	s.Namespaces = flag()
	s.LandlockRead, s.LandlockWrite = num(), num()
	s.Filter = make([]syscall.SockFilter, count(8))
	for i := range s.Filter {
		s.Filter[i] = syscall.SockFilter{Code: binary.LittleEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.LittleEndian.Uint32(b[4:])}
		b = b[8:]
	}
	s.Off = strs()
	egress := num()
	s.Egress = uint16(egress)
	if bad || egress > 0xffff || len(b) != 0 {
		return nil, errSpec
	}
	return s, nil
}
