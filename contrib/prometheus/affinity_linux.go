//go:build linux

package prometheus

import "golang.org/x/sys/unix"

// affinityCPUs counts the CPUs in the calling thread's affinity mask, as
// the Go runtime and runtimeinfo do.
func affinityCPUs() (int, bool) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, false
	}
	n := set.Count()
	return n, n > 0
}
