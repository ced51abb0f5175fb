//go:build !linux

package testenv

import "testing"

// SweepMain runs m: outside Linux there are no cgroups to sweep (see
// sweep_linux.go). It lets a TestMain in a file built on every GOOS call it.
func SweepMain(m *testing.M) int { return m.Run() }
