package cgroup

import (
	"fmt"
	"testing"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/internal/testenv"
)

// The benchmarks run on the live system: the numbers belong to this
// machine's cgroups, and they skip where there are none (fail, under
// RIGHTSIZE_REQUIRE_CGROUP=1).

func openLive(b *testing.B) *Group {
	b.Helper()
	skipUnlessLinux(b)
	g, err := Open()
	if err != nil {
		testenv.SkipOrFail(b, testenv.Cgroup, fmt.Sprintf("no cgroups here: %v", err))
	}
	if _, ok := g.Location(Memory); !ok {
		testenv.SkipOrFail(b, testenv.Cgroup, "no memory controller")
	}
	return g
}

// BenchmarkRawPread is the floor: one pread of the memory usage file on an
// already-open descriptor, without any parsing.
func BenchmarkRawPread(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	loc, _ := g.Location(Memory)
	name := "memory.current"
	if loc.Version == 1 {
		name = "memory.usage_in_bytes"
	}
	f, err := rootfs.New(rootfs.Live).Open(joinDir(loc.Dir, name))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.ReadAt0(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryUsage is one group of values read on a warm handle:
// memory usage, and the working set from memory.stat (ReadStats with
// StatsMemory).
func BenchmarkMemoryUsage(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	var st Stats
	if err := g.ReadStats(&st, StatsMemory); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, StatsMemory); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCPULimit walks the hierarchy (two files per level on v1).
func BenchmarkCPULimit(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	if _, _, err := g.CPULimit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := g.CPULimit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStats is a full refresh: CPU usage and throttling, memory
// usage, working set, peak and events, pids and pressure.
func BenchmarkReadStats(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, StatsAll); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStatsCore is the periodic refresh: CPU usage and throttling,
// memory usage and working set, pids (ReadStats with StatsCore).
func BenchmarkReadStatsCore(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	var st Stats
	if err := g.ReadStats(&st, StatsCore); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, StatsCore); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdDiscovery is what a process pays once: parse
// /proc/self/cgroup and mountinfo, resolve the directories, read the CPU
// and memory limits, close.
func BenchmarkColdDiscovery(b *testing.B) {
	skipUnlessLinux(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		g, err := Open()
		if err != nil {
			testenv.SkipOrFail(b, testenv.Cgroup, fmt.Sprintf("no cgroups here: %v", err))
		}
		if _, _, err := g.CPULimit(); err != nil {
			b.Fatal(err)
		}
		if _, _, err := g.MemoryLimit(); err != nil {
			b.Fatal(err)
		}
		g.Close()
	}
}

func TestWarmReadsDoNotAllocate(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var st Stats
	for name, fn := range map[string]func(){
		"ReadStats":    func() { _ = g.ReadStats(&st, StatsAll) },
		"StatsCore":    func() { _ = g.ReadStats(&st, StatsCore) },
		"CPULimit":     func() { _, _, _ = g.CPULimit() },
		"LeafCPULimit": func() { _, _, _ = g.LeafCPULimit() },
		"MemoryLimit":  func() { _, _, _ = g.MemoryLimit() },
		"MemoryHigh":   func() { _, _, _ = g.MemoryHigh() },
		"PIDsLimit":    func() { _, _, _ = g.PIDsLimit() },
		"MemoryUsage":  func() { _ = g.ReadStats(&st, StatsMemory) },
		"CPURequest":   func() { _, _, _ = g.CPURequest() },
		"CPUSetCPUs":   func() { _, _, _ = g.CPUSetCPUs() },
		"SwapLimit":    func() { _, _, _ = g.SwapLimit() },
		"Moved":        func() { _, _ = g.Moved() },
	} {
		fn() // open the files
		if n := testing.AllocsPerRun(50, fn); n != 0 {
			t.Errorf("%s: %v allocs per read on a warm handle", name, n)
		}
	}
	if err := g.ReadStats(&st, StatsAll); err != nil || !st.Memory.HasWorkingSet {
		t.Fatalf("ReadStats: %v %+v", err, st)
	}
}
