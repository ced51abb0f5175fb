//go:build linux

package cgroup

import (
	"io"

	"golang.org/x/sys/unix"
)

var errEOF = io.EOF

func errnoOf(err error) int {
	if e, ok := err.(unix.Errno); ok {
		return int(e)
	}
	return int(unix.EIO)
}
