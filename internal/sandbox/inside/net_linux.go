package inside

import (
	"fmt"
	"syscall"
	"unsafe"
)

// NetFD is the socket over which the first process hands the parent the
// egress listener, when Spec.Egress asks for one.
const NetFD = 6

// openEgress brings up the loopback interface of the sandbox's own network
// namespace, listens on 127.0.0.1:port there and sends the listening
// socket to the parent over NetFD. This process keeps no copy: only the
// parent accepts on it, and the program can only connect to it.
func openEgress(port uint16) error {
	if err := loopbackUp(); err != nil {
		return err
	}
	l, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("egress listener: %w", err)
	}
	defer syscall.Close(l)
	if err := syscall.Bind(l, &syscall.SockaddrInet4{Port: int(port), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("egress listener: bind 127.0.0.1:%d: %w", port, err)
	}
	if err := syscall.Listen(l, 128); err != nil {
		return fmt.Errorf("egress listener: %w", err)
	}
	if err := syscall.Sendmsg(NetFD, []byte{0}, syscall.UnixRights(l), nil, 0); err != nil {
		return fmt.Errorf("egress listener: hand it to Warden: %w", err)
	}
	return syscall.Close(NetFD)
}

// loopbackUp sets the IFF_UP flag of "lo": a new network namespace starts
// with it down, so not even 127.0.0.1 answers.
func loopbackUp() error {
	s, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer syscall.Close(s)
	var ifr [40]byte // struct ifreq: the name, then a union whose first member is the flags
	copy(ifr[:], "lo")
	*(*uint16)(unsafe.Pointer(&ifr[syscall.IFNAMSIZ])) = syscall.IFF_UP | syscall.IFF_RUNNING
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(s), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		return fmt.Errorf("loopback: bring lo up: %w", e)
	}
	return nil
}
