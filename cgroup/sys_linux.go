//go:build linux

package cgroup

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// atFDCWD is a variable because the negative constant does not convert to
// uintptr.
var atFDCWD = unix.AT_FDCWD

// sysOpen opens a NUL-terminated path read-only. It takes the path as bytes
// so that opening a file allocates nothing (unix.Open would convert a string).
func sysOpen(path []byte) (int, error) {
	if len(path) == 0 || path[len(path)-1] != 0 {
		return -1, unix.EINVAL
	}
	for {
		r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&path[0])),
			uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

// sysPread reads from offset 0: cgroupfs and procfs regenerate a file's
// content on a read at offset 0, so a kept descriptor serves fresh values.
func sysPread(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Pread(fd, b, 0)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func sysRead(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func sysClose(fd int) { _ = unix.Close(fd) }

func isNotExist(err error) bool { return err == unix.ENOENT || err == unix.ENOTDIR }

// dirExists reports whether a NUL-terminated path is an existing directory.
func dirExists(path []byte) bool {
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECTORY|unix.O_PATH), 0, 0, 0)
	if errno != 0 {
		return false
	}
	sysClose(int(r))
	return true
}

const supported = true

// fileExists reports whether a NUL-terminated path exists, without opening
// it for reading.
func fileExists(path []byte) bool {
	r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(&path[0])),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_PATH), 0, 0, 0)
	if errno != 0 {
		return false
	}
	sysClose(int(r))
	return true
}
