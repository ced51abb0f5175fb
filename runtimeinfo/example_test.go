package runtimeinfo_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/rightsize/rightsize/runtimeinfo"
)

func ExampleRead() {
	snap, err := runtimeinfo.Read()
	if err != nil {
		log.Println("some values could not be read:", err)
	}
	if snap.CPULimit != nil {
		fmt.Printf("CPU limit %g from %s\n", snap.CPULimit.CPUs, snap.CPULimit.Source)
	}
	if snap.MemoryLimit != nil {
		fmt.Printf("memory limit %d from %s\n", snap.MemoryLimit.Bytes, snap.MemoryLimit.Source)
	}
}

func ExampleTune() {
	res, undo, err := runtimeinfo.Tune(runtimeinfo.WithCPUPolicy(runtimeinfo.PolicyFloor))
	if err != nil {
		log.Println("rightsize:", err)
	}
	defer undo()
	for _, d := range []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT} {
		fmt.Printf("%s=%d (was %d): %s\n", d.Setting, d.Value, d.Previous, d.Reason)
	}
}

func ExampleWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Follows in-place resizes until ctx is done.
		_ = runtimeinfo.Watch(ctx, time.Second, runtimeinfo.WithMemoryRatio(0.8))
	}()
}

func ExampleProcs() {
	in := runtimeinfo.ProcsInput{Limit: runtimeinfo.CPUQuota{Quota: 150000, Period: 100000}, HasLimit: true, CPUs: 8}
	fmt.Println(runtimeinfo.Procs(runtimeinfo.PolicyCeil, 1, in))
	fmt.Println(runtimeinfo.Procs(runtimeinfo.PolicyFloor, 1, in))
	fmt.Println(runtimeinfo.Procs(runtimeinfo.PolicyFloor, 4, in))
	// Output:
	// 2
	// 1
	// 4
}

func ExampleMemoryLimit() {
	fmt.Println(runtimeinfo.MemoryLimit(256<<20, 0.9, 0))
	fmt.Println(runtimeinfo.MemoryLimit(256<<20, 0.9, 64<<20))
	// Output:
	// 241591910
	// 201326592
}

// Recommend is a dry run: what Tune would set, changing nothing.
func ExampleRecommend() {
	rec, err := runtimeinfo.Recommend(runtimeinfo.WithCPUPolicy(runtimeinfo.PolicyFloor))
	if err != nil {
		log.Println("some values could not be read:", err)
	}
	fmt.Println("GOMAXPROCS would be", rec.GOMAXPROCS, "-", rec.ProcsReason)
	if rec.GOMEMLIMIT > 0 {
		fmt.Println("GOMEMLIMIT would be", rec.GOMEMLIMIT, "-", rec.MemReason)
	}
}

// The RIGHTSIZE_* policy variables, as the blank import reads them.
func ExampleOptionsFromEnv() {
	opts, warnings := runtimeinfo.OptionsFromEnv([]string{"RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MEMORY_RATIO=2"})
	fmt.Println(len(opts), "option")
	for _, w := range warnings {
		fmt.Println(w)
	}
	// Output:
	// 1 option
	// RIGHTSIZE_MEMORY_RATIO="2": want a number in (0, 1]; default used
}
