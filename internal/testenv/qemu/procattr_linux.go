package qemu

import "syscall"

// qemuProcAttr makes qemu die with the thread that started it.
func qemuProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
