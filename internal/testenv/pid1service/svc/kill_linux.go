package svc

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kill sends sig to host process pid only if it is still the process
// whose PID inside its namespace is inside: a pidfd is opened first and
// the process checked through it, so a PID reused meanwhile is never hit.
func Kill(pid, inside int, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	defer unix.Close(fd)
	ns, err := NSpid(pid)
	if err != nil {
		return fmt.Errorf("process %d: %w", pid, err)
	}
	if ns[len(ns)-1] != inside {
		return fmt.Errorf("host PID %d is PID %d inside, not %d: not killed", pid, ns[len(ns)-1], inside)
	}
	return unix.PidfdSendSignal(fd, sig, nil, 0)
}
