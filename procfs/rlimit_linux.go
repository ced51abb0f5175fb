//go:build linux

package procfs

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// liveFDLimit is this process's RLIMIT_NOFILE.
func liveFDLimit() (Limit, bool) {
	var r unix.Rlimit
	// prlimit64(2) on this process, the raw system call: on 32-bit
	// platforms unix.Getrlimit goes through a fallback that moves r to the
	// heap, one allocation per scan. syscall.RawSyscall6, not x/sys's: on
	// some architectures (ppc64) that one is an ordinary Go function, which
	// the unsafe.Pointer rule for system call arguments does not cover.
	_, _, errno := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&r)), 0, 0)
	if errno == unix.ENOSYS {
		return getrlimitFDs()
	}
	if errno != 0 {
		return Limit{}, false
	}
	return Limit{Soft: uint64(r.Cur), Hard: uint64(r.Max)}, true
}

// getrlimitFDs is liveFDLimit for kernels without prlimit64 (before 2.6.36).
func getrlimitFDs() (Limit, bool) {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) != nil {
		return Limit{}, false
	}
	return Limit{Soft: uint64(r.Cur), Hard: uint64(r.Max)}, true
}
