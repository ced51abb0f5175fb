package procfs

import "github.com/rightsize/rightsize/internal/proctable"

// Package reaper reaps through a Scanner, and the command's capture checks
// the process table's files with these parsers. Neither is part of the
// public API (they serve a reaper and a capture, not a program reading
// /proc), so they are handed to the module through an internal package.
func init() {
	proctable.PID = func(s any) int { return s.(*Scanner).pid }
	proctable.HasChildrenFiles = func(s any) bool { return s.(*Scanner).childrenFiles }
	proctable.ZombieChildren = func(s any, dst []int) ([]int, error) { return s.(*Scanner).zombieChildren(dst) }
	proctable.Pidfds = func(s any, dst []int) ([]int, error) { return s.(*Scanner).pidfds(dst) }
	proctable.ParseChildren = parseChildren
	proctable.ParseFdinfoPid = parseFdinfoPid
	proctable.IsPidfdLink = isPidfdLink
}
