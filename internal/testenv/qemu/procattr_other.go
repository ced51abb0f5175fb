//go:build !linux

package qemu

import "syscall"

// qemuProcAttr has nothing to add where there is no parent-death signal.
func qemuProcAttr() *syscall.SysProcAttr { return nil }
