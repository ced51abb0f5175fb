//go:build linux

package runtimeinfo

import "golang.org/x/sys/unix"

// affinityCPUs counts the CPUs in the calling thread's affinity mask
// (sched_getaffinity), as the Go runtime does. It does not allocate.
func affinityCPUs() (int, bool) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, false
	}
	n := set.Count()
	return n, n > 0
}
