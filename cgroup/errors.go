package cgroup

import (
	"errors"

	"github.com/rightsize/rightsize/procfs"
)

var (
	// ErrNotSupported is returned by Open on systems without cgroups
	// (every GOOS but linux).
	ErrNotSupported = errors.New("cgroup: not supported on this platform")

	// ErrNotAvailable is returned by a usage reader when the controller it
	// needs is not mounted for this process (for example pids on a host
	// that does not mount it). Limit readers report such a controller as
	// "no limit" instead (ok=false, nil error): nothing enforces one.
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
	// should be.
	ErrTooLarge   = procfs.ErrTooLarge
	ErrNotRegular = procfs.ErrNotRegular
)

// Error names the file (with the root prefix) and what went wrong with it.
// It is the same type as procfs.Error, so one errors.As serves both.
type Error = procfs.Error
