package runtimeinfo_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// The examples with output read the capture in testdata/v2-pod (a cgroup
// v2 container limited to 1.5 CPUs and 256 MiB, on a host with 8 CPUs)
// with WithRoot; a program leaves WithRoot out to read its own limits.
const capture = "testdata/v2-pod"

func ExampleRead() {
	snap, err := runtimeinfo.Read(runtimeinfo.WithRoot(capture))
	if err != nil {
		log.Println("some values could not be read:", err)
	}
	if snap.HasCPULimit {
		fmt.Printf("CPU limit %g from %s\n", snap.CPULimit.CPUs, snap.CPULimit.Source)
	}
	fmt.Printf("%d CPUs usable (%s)\n", snap.CPUs.N, snap.CPUs.Source)
	if snap.HasMemoryLimit {
		fmt.Printf("memory limit %d from %s\n", snap.MemoryLimit.Bytes, snap.MemoryLimit.Source)
	}
	// Output:
	// CPU limit 1.5 from cgroup /sys/fs/cgroup/pod/app/cpu.max
	// 8 CPUs usable (proc /proc/self/status Cpus_allowed_list)
	// memory limit 268435456 from cgroup /sys/fs/cgroup/pod/app/memory.max
}

// A Reader discovers the cgroups once and then refreshes a Snapshot the
// caller owns, allocating nothing when every read succeeds: what a metrics
// exporter polls.
func ExampleNewReader() {
	r, err := runtimeinfo.NewReader(runtimeinfo.WithRoot(capture), runtimeinfo.WithFields(runtimeinfo.FieldUsage))
	if err != nil {
		log.Fatal(err) // only an invalid option
	}
	defer r.Close()
	var snap runtimeinfo.Snapshot
	for i := 0; i < 2; i++ {
		if err := r.Read(&snap); err != nil {
			log.Println("some values could not be read:", err)
		}
		fmt.Println(snap.Stats.Memory.WorkingSet, "bytes working set;", snap.Stats.CPU.Throttling.ThrottledPeriods, "periods throttled")
	}
	// Output:
	// 800000 bytes working set; 2 periods throttled
	// 800000 bytes working set; 2 periods throttled
}

// Recommend is a dry run: what Tune would set, changing nothing.
func ExampleRecommend() {
	rec, err := runtimeinfo.Recommend(runtimeinfo.WithRoot(capture), runtimeinfo.WithCPUPolicy(runtimeinfo.PolicyFloor))
	if err != nil {
		log.Println("some values could not be read:", err)
	}
	for _, d := range []runtimeinfo.Decision{rec.GOMAXPROCS, rec.GOMEMLIMIT} {
		if d.HasWant {
			fmt.Printf("%s would be %d, from %s\n", d.Setting, d.Want, d.Source)
		}
	}
	// Output:
	// GOMAXPROCS would be 1, from cgroup /sys/fs/cgroup/pod/app/cpu.max
	// GOMEMLIMIT would be 241591910, from cgroup /sys/fs/cgroup/pod/app/memory.max
}

// A Reader's Recommend decides from a snapshot it took, so a program can
// show the decision next to the values it came from.
func ExampleReader_Recommend() {
	r, err := runtimeinfo.NewReader(runtimeinfo.WithRoot(capture), runtimeinfo.WithMemoryReserve(64<<20))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	var snap runtimeinfo.Snapshot
	_ = r.Read(&snap)
	_, mem := r.Recommend(&snap)
	fmt.Println(snap.MemoryLimit.Bytes, "-", 64<<20, "=", mem.Want)
	// Output:
	// 268435456 - 67108864 = 201326592
}

func ExampleTune() {
	res, undo, err := runtimeinfo.Tune(runtimeinfo.WithRoot(capture), runtimeinfo.WithLogger(nil))
	if err != nil {
		log.Println("rightsize:", err)
	}
	defer undo() // back to the settings from before
	for _, d := range []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT} {
		fmt.Printf("%s %d from %s\n", d.Setting, d.Want, d.Source)
	}
	// Output:
	// GOMAXPROCS 2 from cgroup /sys/fs/cgroup/pod/app/cpu.max
	// GOMEMLIMIT 241591910 from cgroup /sys/fs/cgroup/pod/app/memory.max
}

// Start is what the blank import of package rightsize runs: Tune, then a
// watcher that follows in-place resizes until Stop (or Undo).
func ExampleStart() {
	res, tuner, err := runtimeinfo.Start(
		runtimeinfo.WithRoot(capture),
		runtimeinfo.WithInterval(5*time.Second),
		runtimeinfo.WithLogger(nil),
	)
	if err != nil {
		log.Println("rightsize:", err)
	}
	defer tuner.Undo() // stops the watcher and restores the settings
	fmt.Println("GOMAXPROCS", res.GOMAXPROCS.Want, "GOMEMLIMIT", res.GOMEMLIMIT.Want)
	fmt.Println(len(tuner.Changes()), "changes by the watcher so far")
	// Output:
	// GOMAXPROCS 2 GOMEMLIMIT 241591910
	// 0 changes by the watcher so far
}

// WithEnvConfig reads the RIGHTSIZE_* settings, as the blank import does.
// An unusable value is one warning, and its default is used.
func ExampleWithEnvConfig() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // no time: the output is compared
			}
			return a
		},
	}))
	rec, err := runtimeinfo.Recommend(
		runtimeinfo.WithRoot(capture),
		runtimeinfo.WithEnvConfig(),
		runtimeinfo.WithEnviron([]string{"RIGHTSIZE_CPU_POLICY=floor", "RIGHTSIZE_MEMORY_RATIO=0.5"}),
	)
	if err != nil {
		log.Println(err)
	}
	fmt.Println(rec.GOMAXPROCS.Want, rec.GOMEMLIMIT.Want)

	_, undo, _ := runtimeinfo.Tune(
		runtimeinfo.WithRoot(capture),
		runtimeinfo.WithEnvConfig(),
		runtimeinfo.WithEnviron([]string{"RIGHTSIZE_MEMORY_RATIO=2", "RIGHTSIZE_GOMAXPROCS=off", "RIGHTSIZE_GOMEMLIMIT=off"}),
		runtimeinfo.WithLogger(logger),
	)
	undo()
	// Output:
	// 1 134217728
	// level=WARN msg="rightsize: RIGHTSIZE_MEMORY_RATIO=\"2\": want a number in (0, 1]; the default is used"
}

// Watch follows in-place resizes until its context is done. It acts on the
// live process, so this example has no output and is not run.
func ExampleWatch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = runtimeinfo.Watch(ctx, time.Second, runtimeinfo.WithMemoryRatio(0.8))
	}()
}

func ExampleSource_String() {
	fmt.Println(runtimeinfo.Source{Kind: runtimeinfo.SourceCgroup, Path: "/sys/fs/cgroup/cpu.max"})
	fmt.Println(runtimeinfo.Source{Kind: runtimeinfo.SourceEnv, Env: runtimeinfo.EnvCPULimitMillis})
	fmt.Println(runtimeinfo.Source{Kind: runtimeinfo.SourceProc, Path: "/proc/meminfo", Key: "MemTotal"})
	fmt.Println(runtimeinfo.Source{})
	// Output:
	// cgroup /sys/fs/cgroup/cpu.max
	// env RIGHTSIZE_CPU_LIMIT_MILLIS
	// proc /proc/meminfo MemTotal
	// none
}

func ExampleCPU_MilliCPU() {
	fmt.Println(runtimeinfo.CPU{Quota: 150 * time.Millisecond, Period: 100 * time.Millisecond}.MilliCPU())
	fmt.Println(runtimeinfo.CPU{Quota: 1, Period: 3}.MilliCPU()) // rounded up
	// Output:
	// 1500
	// 334
}
