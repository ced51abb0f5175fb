package cgroup

import (
	"errors"

	"github.com/rightsize/rightsize/procfs"
)

var (
	// ErrNotSupported is returned by Open on every GOOS but linux. A Linux
	// system without cgroup mounts is not an error (LayoutNone).
	ErrNotSupported = errors.New("cgroup: not supported on this platform")

	// ErrNotAvailable is wrapped, in an error naming the file, when a limit
	// reader misses a file that every cgroup it reads has (v1
	// cpu.cfs_quota_us, cpu.cfs_period_us or memory.limit_in_bytes at a
	// level of the walk, the process's own v1 memory.stat). A controller
	// that is not mounted is not an error: limit readers report it as "no
	// limit" (ok=false), and ReadStats leaves its values unset, as it does
	// values whose files are absent.
	ErrNotAvailable = errors.New("cgroup: controller not available")

	// ErrRemoved is wrapped when the directory of the process's cgroup no
	// longer exists: the cgroup was removed after the process was moved out
	// of it. Open a new handle (Moved reports a move).
	ErrRemoved = errors.New("cgroup directory does not exist (cgroup removed or process moved)")

	// ErrMalformed is wrapped by every error about a file whose content is
	// not in the kernel's format, or holds a value no kernel would (a
	// memory limit of 0, a counter beyond 64 bits). It is the same value
	// as procfs.ErrMalformed.
	ErrMalformed = procfs.ErrMalformed

	// ErrTooLarge and ErrNotRegular are procfs's: a file larger than its
	// read's bound, and a FIFO, socket, device or directory where a file
	// should be. Open also wraps ErrTooLarge when mountinfo lists more
	// cgroup mounts than discovery keeps and a controller the process is
	// in is not found among those kept.
	ErrTooLarge   = procfs.ErrTooLarge
	ErrNotRegular = procfs.ErrNotRegular
)

// Error names the file (with the root prefix) and what went wrong with it.
// It is the same type as procfs.Error, so one errors.As serves both.
type Error = procfs.Error
