package cgroup

import "github.com/rightsize/rightsize/internal/capturehook"

// The command's capture copies exactly the files a handle reads. That list
// is not part of the public API (it names files for a tool, not values for
// a program), so it is handed to the command through an internal package.
func init() {
	capturehook.CgroupEntries = func(g any) ([]capturehook.Entry, error) {
		return g.(*Group).entries()
	}
}
