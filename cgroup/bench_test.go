package cgroup

import (
	"os"
	"path/filepath"
	"testing"
)

// The benchmarks run on the live system: the numbers belong to this
// machine's cgroups, and they skip where there are none.

func openLive(b *testing.B) *Group {
	b.Helper()
	skipUnlessLinux(b)
	g, err := Open()
	if err != nil {
		b.Skipf("no cgroups here: %v", err)
	}
	if _, ok := g.Location(Memory); !ok {
		b.Skip("no memory controller")
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
	f, err := os.Open(filepath.Join(loc.Dir, name))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sysPread(fd, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemoryUsage is a single value read on a warm handle.
func BenchmarkMemoryUsage(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	if _, err := g.MemoryUsage(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := g.MemoryUsage(); err != nil {
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
	if err := g.ReadStats(&st); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadStatsCore is the periodic refresh: CPU usage and throttling,
// memory usage and working set, pids (ReadStatsOf with StatsCore).
func BenchmarkReadStatsCore(b *testing.B) {
	g := openLive(b)
	defer g.Close()
	var st Stats
	if err := g.ReadStatsOf(&st, StatsCore); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStatsOf(&st, StatsCore); err != nil {
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
			b.Skipf("no cgroups here: %v", err)
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
		"ReadStats":   func() { _ = g.ReadStats(&st) },
		"StatsCore":   func() { _ = g.ReadStatsOf(&st, StatsCore) },
		"CPULimit":    func() { _, _, _ = g.CPULimit() },
		"MemoryLimit": func() { _, _, _ = g.MemoryLimit() },
		"MemoryHigh":  func() { _, _, _ = g.MemoryHigh() },
		"PIDsLimit":   func() { _, _, _ = g.PIDsLimit() },
		"MemoryUsage": func() { _, _ = g.MemoryUsage() },
		"CPURequest":  func() { _, _, _ = g.CPURequest() },
		"CPUSetCPUs":  func() { _, _, _ = g.CPUSetCPUs() },
		"SwapLimit":   func() { _, _, _ = g.SwapLimit() },
	} {
		fn() // open the files
		if n := testing.AllocsPerRun(50, fn); n != 0 {
			t.Errorf("%s: %v allocs per read on a warm handle", name, n)
		}
	}
	if err := g.ReadStats(&st); err != nil || !st.Memory.HasWorkingSet {
		t.Fatalf("ReadStats: %v %+v", err, st)
	}
}
