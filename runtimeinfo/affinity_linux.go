//go:build linux

package runtimeinfo

import (
	"math"

	"golang.org/x/sys/unix"
)

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

// hostMemory returns the host's memory in bytes from sysinfo(2): totalram
// times mem_unit, the figure /proc/meminfo shows as MemTotal.
func hostMemory() (int64, bool) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return 0, false
	}
	unit := uint64(si.Unit)
	if unit == 0 {
		unit = 1
	}
	total := uint64(si.Totalram)
	if total > math.MaxInt64/unit {
		return 0, false
	}
	return int64(total * unit), true
}
