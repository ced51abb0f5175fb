// Command snapshot prints the effective resources of its process (or of a
// captured tree with -root), each with the file or variable it came from,
// and what rightsize would decide from them, through the runtimeinfo API.
// It changes nothing: the decisions are runtimeinfo.Reader.Recommend's.
//
//	go run ./examples/snapshot
//	go run ./examples/snapshot -root cmd/rightsize/testdata/trees/k8s-v2-guaranteed -policy floor
package main

import (
	"flag"
	"fmt"
	"math"
	"os"

	"github.com/rightsize/rightsize/runtimeinfo"
)

func main() {
	root := flag.String("root", "/", "read the files below this directory instead of the live system")
	policy := flag.String("policy", string(runtimeinfo.DefaultCPUPolicy), "CPU policy: ceil, floor or runtime")
	ratio := flag.Float64("ratio", runtimeinfo.DefaultMemoryRatio, "GOMEMLIMIT as a share of the memory limit")
	flag.Parse()

	// One Reader: discovery once, then each Read refreshes the snapshot
	// through open descriptors. FieldAll adds requests, pids.max and usage.
	r, err := runtimeinfo.NewReader(
		runtimeinfo.WithRoot(*root),
		runtimeinfo.WithCPUPolicy(runtimeinfo.CPUPolicy(*policy)),
		runtimeinfo.WithMemoryRatio(*ratio),
		runtimeinfo.WithFields(runtimeinfo.FieldAll),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err) // an invalid option
		os.Exit(2)
	}
	defer r.Close()
	var snap runtimeinfo.Snapshot
	readErr := r.Read(&snap) // what could not be read is absent, and listed
	procs, mem := r.Recommend(&snap)

	env := r.Environment()
	where := "not in a container"
	if env.Container {
		where = fmt.Sprintf("container (runtime %q, orchestrator %q)", env.Runtime, env.Orchestrator)
	}
	fmt.Printf("root %s, cgroup layout %s, %s\n", snap.Root, snap.Layout, where)
	fmt.Printf("Go runtime: %s\n", snap.Mode.Reason)

	cpu := func(name string, ok bool, c runtimeinfo.CPU) {
		if !ok {
			fmt.Printf("%-15s none\n", name)
			return
		}
		approx := ""
		if c.Approx {
			approx = "≈"
		}
		fmt.Printf("%-15s %s%g CPUs from %s\n", name, approx, c.CPUs, c.Source)
	}
	bytes := func(name string, ok bool, b runtimeinfo.Bytes) {
		if !ok {
			fmt.Printf("%-15s none\n", name)
			return
		}
		fmt.Printf("%-15s %d bytes from %s\n", name, b.Bytes, b.Source)
	}
	cpu("cpu limit", snap.HasCPULimit, snap.CPULimit)
	cpu("cpu request", snap.HasCPURequest, snap.CPURequest)
	fmt.Printf("%-15s %d from %s\n", "cpus", snap.CPUs.N, snap.CPUs.Source)
	bytes("memory limit", snap.HasMemoryLimit, snap.MemoryLimit)
	bytes("memory.high", snap.HasMemoryHigh, snap.MemoryHigh)
	bytes("memory request", snap.HasMemoryRequest, snap.MemoryRequest)
	bytes("host memory", snap.HasHostMemory, snap.HostMemory)
	if snap.HasPIDsLimit {
		fmt.Printf("%-15s %d from %s\n", "pids limit", snap.PIDsLimit.N, snap.PIDsLimit.Source)
	}

	st := snap.Stats
	if st.Memory.HasUsage {
		fmt.Printf("%-15s %d bytes (working set %d)\n", "memory usage", st.Memory.Usage, st.Memory.WorkingSet)
	}
	if st.CPU.HasUsage {
		elsewhere := ""
		if snap.CPUUsageElsewhere {
			elsewhere = ", from another cgroup than the limit's"
		}
		fmt.Printf("%-15s %v (%s%s)\n", "cpu usage", st.CPU.Usage, st.CPU.UsagePath, elsewhere)
	}
	if t := st.CPU.Throttling; st.CPU.HasThrottling {
		fmt.Printf("%-15s %d of %d periods, %v\n", "throttled", t.ThrottledPeriods, t.Periods, t.ThrottledTime)
	}
	if st.PIDs.HasCurrent {
		fmt.Printf("%-15s %d\n", "pids", st.PIDs.Current)
	}
	if p := st.Pressure; p.HasCPU {
		scope := "container"
		if p.HostWide {
			scope = "host-wide"
		}
		fmt.Printf("%-15s cpu some %.2f%% over 10 s (%s)\n", "pressure", p.CPU.Some.Avg10, scope)
	}

	for _, d := range []runtimeinfo.Decision{procs, mem} {
		now, want := fmt.Sprint(d.Value), "nothing"
		if d.Setting == runtimeinfo.GOMEMLIMIT && d.Value == math.MaxInt64 {
			now = "no limit"
		}
		if d.HasWant {
			want = fmt.Sprint(d.Want)
		}
		fmt.Printf("%s: now %s, the policy gives %s: %s\n", d.Setting, now, want, d.Reason)
	}
	if readErr != nil {
		fmt.Println("errors:", readErr)
	}
}
