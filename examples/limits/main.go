// Command limits prints what this process's cgroups allow and use: the
// smallest example of the cgroup package.
//
//	go run ./examples/limits
//	go run ./examples/limits -root cgroup/testdata/v2-nested
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rightsize/rightsize/cgroup"
)

func main() {
	root := flag.String("root", "/", "read the files below this directory instead of the live system")
	flag.Parse()
	g, err := cgroup.Open(cgroup.WithRoot(*root))
	if err != nil {
		fmt.Fprintln(os.Stderr, "limits:", err)
		os.Exit(1)
	}
	defer g.Close()

	fmt.Printf("layout: %s\n", g.Layout())
	for _, c := range []cgroup.Controller{cgroup.CPU, cgroup.CPUAcct, cgroup.CPUSet, cgroup.Memory, cgroup.PIDs, cgroup.Unified} {
		if loc, ok := g.Location(c); ok {
			degraded := ""
			if loc.Degraded {
				degraded = " (degraded: path not below the mount root)"
			}
			fmt.Printf("%-8s v%d %s%s\n", c, loc.Version, loc.Dir, degraded)
		}
	}
	show := func(name string, ok bool, err error, value string) {
		switch {
		case err != nil:
			fmt.Printf("%-13s error: %v\n", name+":", err)
		case !ok:
			fmt.Printf("%-13s none\n", name+":")
		default:
			fmt.Printf("%-13s %s\n", name+":", value)
		}
	}
	cpu, ok, err := g.CPULimit()
	show("cpu limit", ok, err, fmt.Sprintf("%.2f CPUs (%v per %v, %s)", cpu.CPUs, cpu.Quota, cpu.Period, cpu.Path))
	req, ok, err := g.CPURequest()
	show("cpu weight", ok, err, fmt.Sprintf("%dm if a Kubernetes request (shares %d, weight %d, approx %v, %s)", req.MilliCPU, req.Shares, req.Weight, req.Approx, req.Path))
	set, ok, err := g.CPUSetCPUs()
	show("cpuset", ok, err, fmt.Sprintf("%d CPUs (%s)", set.CPUs, set.Path))
	mem, ok, err := g.MemoryLimit()
	if mem.Key != "" {
		mem.Path += " " + mem.Key // a key of memory.stat
	}
	show("memory limit", ok, err, fmt.Sprintf("%d bytes (%s)", mem.Bytes, mem.Path))
	high, ok, err := g.MemoryHigh()
	show("memory high", ok, err, fmt.Sprintf("%d bytes (%s)", high.Bytes, high.Path))
	swap, ok, err := g.SwapLimit()
	show("swap limit", ok, err, fmt.Sprintf("%d bytes (%s)", swap.Bytes, swap.Path))
	pids, ok, err := g.PIDsLimit()
	show("pids limit", ok, err, fmt.Sprintf("%d (%s)", pids.Max, pids.Path))

	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsAll); err != nil {
		fmt.Println("stats error:", err)
	}
	if st.CPU.HasUsage {
		fmt.Printf("cpu usage:    %v\n", st.CPU.Usage)
	}
	if st.CPU.HasThrottling {
		t := st.CPU.Throttling
		fmt.Printf("throttling:   %d of %d periods, %v\n", t.ThrottledPeriods, t.Periods, t.ThrottledTime)
	}
	if st.Memory.HasUsage {
		fmt.Printf("memory usage: %d bytes (working set %d, peak %d)\n", st.Memory.Usage, st.Memory.WorkingSet, st.Memory.Peak)
	}
	if st.Memory.HasEvents {
		fmt.Printf("oom kills:    %d\n", st.Memory.Events.OOMKill)
	}
	if st.PIDs.HasCurrent {
		fmt.Printf("pids:         %d\n", st.PIDs.Current)
	}
	if st.Pressure.HasCPU {
		scope := "this cgroup"
		if st.Pressure.HostWide {
			scope = "the whole host"
		}
		fmt.Printf("cpu pressure: some avg10=%.2f%% (%s)\n", st.Pressure.CPU.Some.Avg10, scope)
	}
}
