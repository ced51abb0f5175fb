// Command snapshot prints the effective resources of its process (or of a
// captured tree with -root) and what rightsize would decide, through the
// runtimeinfo API. With -apply it applies the decisions (Tune) and undoes
// them before exiting; without it, it only reports (GOMAXPROCS and
// GOMEMLIMIT are restored by the undo right away).
//
//	go run ./examples/snapshot
//	go run ./examples/snapshot -json
//	go run ./examples/snapshot -root cgroup/testdata/v2-nested -policy floor
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/rightsize/rightsize/runtimeinfo"
)

func main() {
	root := flag.String("root", "/", "read the files below this directory instead of the live system")
	policy := flag.String("policy", string(runtimeinfo.DefaultCPUPolicy), "CPU policy: ceil, floor or runtime")
	ratio := flag.Float64("ratio", runtimeinfo.DefaultMemoryRatio, "GOMEMLIMIT as a share of the memory limit")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	p, ok := runtimeinfo.ParseCPUPolicy(*policy)
	if !ok {
		fmt.Fprintln(os.Stderr, "snapshot: unknown policy", *policy)
		os.Exit(2)
	}
	opts := []runtimeinfo.Option{
		runtimeinfo.WithRoot(*root), runtimeinfo.WithCPUPolicy(p), runtimeinfo.WithMemoryRatio(*ratio),
		runtimeinfo.WithLogger(nil),
	}
	snap, readErr := runtimeinfo.Read(opts...)
	res, undo, _ := runtimeinfo.Tune(opts...)
	undo() // report only

	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Snapshot  runtimeinfo.Snapshot   `json:"snapshot"`
			Decisions []runtimeinfo.Decision `json:"decisions"`
		}{snap, []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT}})
		return
	}
	fmt.Printf("root %s, cgroup layout %s, Go runtime: %s\n", snap.Root, snap.Layout, snap.Mode.Reason)
	cpu := func(name string, c *runtimeinfo.CPU) {
		if c == nil {
			fmt.Printf("%-15s none\n", name)
			return
		}
		fmt.Printf("%-15s %g CPUs from %s\n", name, c.CPUs, c.Source)
	}
	mem := func(name string, b *runtimeinfo.Bytes) {
		if b == nil {
			fmt.Printf("%-15s none\n", name)
			return
		}
		fmt.Printf("%-15s %d bytes from %s\n", name, b.Bytes, b.Source)
	}
	cpu("cpu limit", snap.CPULimit)
	cpu("cpu request", snap.CPURequest)
	fmt.Printf("%-15s %d from %s\n", "cpus", snap.CPUs.N, snap.CPUs.Source)
	mem("memory limit", snap.MemoryLimit)
	mem("memory.high", snap.MemoryHigh)
	mem("memory request", snap.MemoryRequest)
	mem("host memory", snap.HostMemory)
	if snap.PIDsLimit != nil {
		fmt.Printf("%-15s %d from %s\n", "pids limit", snap.PIDsLimit.N, snap.PIDsLimit.Source)
	}
	st := snap.Stats
	if st.Memory.HasUsage {
		fmt.Printf("%-15s %d bytes (working set %d)\n", "memory usage", st.Memory.Usage, st.Memory.WorkingSet)
	}
	if st.CPU.HasThrottling {
		fmt.Printf("%-15s %d of %d periods, %v\n", "throttled", st.CPU.Throttling.ThrottledPeriods, st.CPU.Throttling.Periods, st.CPU.Throttling.ThrottledTime)
	}
	if st.PIDs.HasCurrent {
		fmt.Printf("%-15s %d\n", "pids", st.PIDs.Current)
	}
	for _, d := range []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT} {
		want := "-"
		if d.Want != 0 {
			want = fmt.Sprint(d.Want)
		}
		fmt.Printf("%s: now %d, rightsize would set %s: %s\n", d.Setting, d.Previous, want, d.Reason)
	}
	if readErr != nil {
		fmt.Println("errors:", readErr)
	}
}
