package cgroup

import (
	"fmt"
	"os"
	"path/filepath"
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

// TestWarmReadsDoNotAllocate checks every reader on a warm handle over
// trees of each kind: v2, a v1 docker view, v1 without swap accounting
// (memsw present, hidden limits in memory.stat), and trees whose leaf lacks
// files (v1 without cpuacct.usage and cpu.stat, v2 without cpu.stat and
// memory.stat), where ReadStats leaves values unset and must still not
// allocate. No reader may fail on these trees.
func TestWarmReadsDoNotAllocate(t *testing.T) {
	skipUnlessLinux(t)
	v2Missing := testenv.CopyTreeTemp(t, "testdata/v2-nested")
	for _, f := range []string{"cpu.stat", "memory.stat"} {
		if err := os.Remove(filepath.Join(v2Missing, "sys/fs/cgroup/a/b", f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, root string
		check      func(st *Stats) bool // what StatsAll must read
	}{
		{"v2-nested", "testdata/v2-nested", func(st *Stats) bool {
			return st.CPU.HasUsage && st.CPU.HasThrottling && st.Memory.HasWorkingSet && st.Memory.HasPeak && st.Memory.HasEvents && st.PIDs.HasCurrent && st.Pressure.HasCPU
		}},
		{"v1-docker", "testdata/v1-docker", func(st *Stats) bool {
			return st.CPU.HasUsage && st.CPU.HasThrottling && st.Memory.HasWorkingSet && st.Memory.HasPeak && st.Memory.HasEvents && st.PIDs.HasCurrent
		}},
		{"v1-swap-hidden", "testdata/v1-swap-hidden", func(st *Stats) bool {
			return st.Memory.HasUsage && st.Memory.HasWorkingSet && !st.Memory.HasPeak && !st.CPU.HasUsage
		}},
		{"v1-nested (no cpuacct.usage, cpu.stat)", "testdata/v1-nested", func(st *Stats) bool {
			return !st.CPU.HasUsage && !st.CPU.HasThrottling && st.Memory.HasUsage && st.Memory.HasWorkingSet
		}},
		{"v2 without cpu.stat, memory.stat", v2Missing, func(st *Stats) bool {
			return !st.CPU.HasUsage && !st.CPU.HasThrottling && st.Memory.HasUsage && !st.Memory.HasWorkingSet && st.Memory.HasPeak && st.PIDs.HasCurrent
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Open(WithRoot(tc.root))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			var st Stats
			for _, r := range []struct {
				name string
				fn   func() error
			}{
				{"ReadStats", func() error { return g.ReadStats(&st, StatsAll) }},
				{"StatsCore", func() error { return g.ReadStats(&st, StatsCore) }},
				{"StatsCPU", func() error { return g.ReadStats(&st, StatsCPU) }},
				{"MemoryUsage", func() error { return g.ReadStats(&st, StatsMemory) }},
				{"CPULimit", func() error { _, _, err := g.CPULimit(); return err }},
				{"LeafCPULimit", func() error { _, _, err := g.LeafCPULimit(); return err }},
				{"MemoryLimit", func() error { _, _, err := g.MemoryLimit(); return err }},
				{"MemoryHigh", func() error { _, _, err := g.MemoryHigh(); return err }},
				{"PIDsLimit", func() error { _, _, err := g.PIDsLimit(); return err }},
				{"CPURequest", func() error { _, _, err := g.CPURequest(); return err }},
				{"CPUSetCPUs", func() error { _, _, err := g.CPUSetCPUs(); return err }},
				{"SwapLimit", func() error { _, _, err := g.SwapLimit(); return err }},
				{"Moved", func() error { _, err := g.Moved(); return err }},
			} {
				if err := r.fn(); err != nil { // also opens the files
					t.Errorf("%s: %v", r.name, err)
					continue
				}
				var err error
				if n := testing.AllocsPerRun(50, func() { err = r.fn() }); n != 0 {
					t.Errorf("%s: %v allocs per read on a warm handle", r.name, n)
				}
				if err != nil {
					t.Errorf("%s on a warm handle: %v", r.name, err)
				}
			}
			if err := g.ReadStats(&st, StatsAll); err != nil || !tc.check(&st) {
				t.Errorf("ReadStats = %v\n%+v", err, st)
			}
		})
	}
}
