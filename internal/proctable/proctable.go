// Package proctable passes, inside this module, what package reaper and
// the command need of procfs's process table beyond its public API: the
// scans the reaper runs through a *procfs.Scanner (its PID, how it finds
// children, the zombie children, the pidfds this process holds) and the
// parsers the command's capture checks files with. They are procfs's own
// code, not part of its API (they serve a reaper and a capture, not a
// program reading /proc), so procfs sets these variables in its init.
//
// A package that calls them imports procfs as well (for NewScanner, or for
// the files it reads), so procfs's init has run and they are set before
// any of its code runs. Each s is a *procfs.Scanner, passed as an any
// because this package cannot name procfs (which imports it); passing the
// pointer allocates nothing.
package proctable

var (
	// PID returns this process's PID as the /proc mount of s shows it: 1
	// for PID 1 of the PID namespace. On the live system it differs from
	// os.Getpid only when /proc was mounted for another PID namespace.
	PID func(s any) int

	// HasChildrenFiles reports whether s finds children through the
	// threads' children files (CONFIG_PROC_CHILDREN) rather than by
	// reading every process's stat.
	HasChildrenFiles func(s any) bool

	// ZombieChildren appends to dst the PIDs of this process's children
	// that have exited and wait to be reaped. A child that vanishes while
	// it is read is left out. It allocates nothing on the live system when
	// dst has room and no process vanishes mid-scan.
	ZombieChildren func(s any, dst []int) ([]int, error)

	// Pidfds appends to dst the PIDs of the processes this process holds a
	// pidfd for: each descriptor whose /proc/self/fd link is a pidfd's,
	// with the "Pid:" line of its fdinfo. A descriptor closed mid-scan is
	// left out; a pidfd of a reaped process (Pid: -1) too. It allocates
	// nothing on the live system when dst has room.
	Pidfds func(s any, dst []int) ([]int, error)

	// ParseChildren appends the PIDs of a /proc/<pid>/task/<tid>/children
	// file to dst; an error wraps procfs.ErrMalformed.
	ParseChildren func(data []byte, dst []int) ([]int, error)

	// ParseFdinfoPid returns the PID named by the "Pid:" line of an fdinfo
	// file: ok is false when the file has none (the descriptor is not a
	// pidfd). pid is -1 for a process that has been reaped, 0 for one
	// outside the PID namespace of the /proc mount.
	ParseFdinfoPid func(data []byte) (pid int, ok bool)

	// IsPidfdLink reports whether target, the target of a /proc/<pid>/fd
	// link, is a pidfd's.
	IsPidfdLink func(target []byte) bool
)
