//go:build !linux

package cgroup

import "io"

var errEOF = io.EOF

func errnoOf(err error) int { return 5 }
