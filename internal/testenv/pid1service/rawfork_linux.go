package main

import (
	"runtime"
	"syscall"
	"unsafe"
)

// Raw forks for the end of a leak, when the pids limit leaves no room for
// a Go middle child (each Go process needs a few threads, and each thread
// is a task of the pids controller): a forked copy of this process that
// runs no Go code, only system calls, needs one PID.
//
// rawDoubleFork forks a middle child that forks a grandchild and exits;
// the grandchild exits at once and, its parent gone, is an orphan zombie
// of PID 1. It returns the middle child's PID (this process reaps it) or
// the error of the first fork. The middle child exits 3 when it could not
// fork.
//
// rawZombie forks a child that exits at once and is never reaped: a
// zombie of this process.
//
// Signals are blocked around the fork, so that the children, which must
// run no Go code, never run a signal handler.

func rawDoubleFork() (int, error) { return rawFork(true) }

func rawZombie() (int, error) { return rawFork(false) }

func rawFork(double bool) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	all := ^uint64(0)
	var old uint64
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid, e := forkChild(double)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(pid), nil
}

// forkChild runs in the child after clone returns 0 there: it must not
// grow the stack or call into the runtime.
//
//go:nosplit
//go:norace
func forkChild(double bool) (uintptr, syscall.Errno) {
	r1, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r1 != 0 {
		return r1, e // the parent, or the fork failed
	}
	if double {
		r2, _, e2 := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if e2 != 0 {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 3, 0, 0)
		}
		_ = r2 // the grandchild and the middle child both exit 0
	}
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	return 0, 0
}
