//go:build !linux

package cgroup

// Outside Linux there are no cgroups: every system call reports
// ErrNotSupported, so Open fails cleanly and nothing else is reached.

func sysOpen(path []byte) (int, error)       { return -1, ErrNotSupported }
func sysPread(fd int, b []byte) (int, error) { return 0, ErrNotSupported }
func sysRead(fd int, b []byte) (int, error)  { return 0, ErrNotSupported }
func sysClose(fd int)                        {}
func isNotExist(err error) bool              { return false }
func dirExists(path []byte) bool             { return false }
func fileExists(path []byte) bool            { return false }

const supported = false
