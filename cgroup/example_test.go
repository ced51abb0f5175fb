//go:build linux

package cgroup_test

import (
	"fmt"

	"github.com/rightsize/rightsize/cgroup"
)

// Read the limits of the process's cgroups. A fixture tree stands in for
// the live system here; call cgroup.Open() without options for the latter.
func ExampleOpen() {
	g, err := cgroup.Open(cgroup.WithRoot("testdata/v2-nested"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()

	if lim, ok, err := g.CPULimit(); err == nil && ok {
		fmt.Printf("cpu: %.1f CPUs (%v every %v) set in %s\n", lim.CPUs, lim.Quota, lim.Period, lim.Path)
	}
	if lim, ok, err := g.MemoryLimit(); err == nil && ok {
		fmt.Printf("memory: %d MiB set in %s\n", lim.Bytes>>20, lim.Path)
	}
	// Output:
	// cpu: 2.0 CPUs (200ms every 100ms) set in /sys/fs/cgroup/a/cpu.max
	// memory: 500 MiB set in /sys/fs/cgroup/a/memory.max
}

// Refresh usage counters into memory the caller owns: no allocation.
func ExampleGroup_ReadStats() {
	g, err := cgroup.Open(cgroup.WithRoot("testdata/v2-nested"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()

	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsAll); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("throttled %d of %d periods\n", st.CPU.Throttling.ThrottledPeriods, st.CPU.Throttling.Periods)
	fmt.Printf("working set %d MiB\n", st.Memory.WorkingSet>>20)
	// Output:
	// throttled 5 of 50 periods
	// working set 150 MiB
}

// A periodic refresh reads only what it needs: StatsCore is CPU usage and
// throttling, memory usage and working set, and pids.
func ExampleGroup_ReadStats_core() {
	g, err := cgroup.Open(cgroup.WithRoot("testdata/v2-nested"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsCore); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(st.CPU.Usage, st.Memory.WorkingSet>>20, st.PIDs.Current, st.Pressure.HasCPU)
	// Output:
	// 2.5s 150 12 false
}

// The Go runtime and automaxprocs read the leaf only; CPULimit sees a
// parent's tighter limit too.
func ExampleGroup_LeafCPULimit() {
	g, err := cgroup.Open(cgroup.WithRoot("testdata/v2-nested"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	_, leafOK, _ := g.LeafCPULimit()
	lim, ok, _ := g.CPULimit()
	fmt.Println("leaf limited:", leafOK)
	fmt.Println("effective:", ok, lim.CPUs, lim.Path)
	// Output:
	// leaf limited: false
	// effective: true 2 /sys/fs/cgroup/a/cpu.max
}
