package readers

import (
	"os"
	"runtime"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"
	cgroups "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	"go.uber.org/automaxprocs/maxprocs"

	"github.com/rightsize/rightsize/cgroup"
)

func open(b *testing.B) *cgroup.Group {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("Linux only")
	}
	g, err := cgroup.Open()
	if err != nil {
		b.Skipf("no cgroups: %v", err)
	}
	if _, ok := g.Location(cgroup.Memory); !ok {
		g.Close()
		b.Skip("no memory controller")
	}
	return g
}

// BenchmarkRightsizeHotMemoryUsage reads memory usage and the working set
// on a warm handle: the same two files as FloorPreadMemory, parsed.
func BenchmarkRightsizeHotMemoryUsage(b *testing.B) {
	g := open(b)
	defer g.Close()
	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsMemory); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, cgroup.StatsMemory); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRightsizeHotCPULimit walks the CPU hierarchy on a warm handle
// (two files per level on v1).
func BenchmarkRightsizeHotCPULimit(b *testing.B) {
	g := open(b)
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

// BenchmarkRightsizeHotMemoryLimit walks the memory hierarchy on a warm
// handle (plus v1 memory.stat's hierarchical limit).
func BenchmarkRightsizeHotMemoryLimit(b *testing.B) {
	g := open(b)
	defer g.Close()
	if _, _, err := g.MemoryLimit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := g.MemoryLimit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRightsizeReadStats is a full refresh into caller-owned memory:
// CPU usage and throttling, memory usage, working set, peak, events, pids
// and pressure.
func BenchmarkRightsizeReadStats(b *testing.B) {
	g := open(b)
	defer g.Close()
	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsAll); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, cgroup.StatsAll); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRightsizeReadStatsCore is the refresh the issue defines (CPU
// usage and throttling, memory usage and working set from memory.stat,
// pids.current): ReadStats with StatsCore.
func BenchmarkRightsizeReadStatsCore(b *testing.B) {
	g := open(b)
	defer g.Close()
	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsCore); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.ReadStats(&st, cgroup.StatsCore); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRightsizeColdDiscovery is what a process pays once: Open,
// CPU and memory limit, Close.
func BenchmarkRightsizeColdDiscovery(b *testing.B) {
	g := open(b)
	g.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		coldDiscovery(b)
	}
}

func quiet(string, ...interface{}) {}

// BenchmarkAutomaxprocsSet is automaxprocs' whole job (discovery, quota,
// GOMAXPROCS) and its undo.
func BenchmarkAutomaxprocsSet(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		undo, err := maxprocs.Set(maxprocs.Logger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		undo()
	}
}

// BenchmarkAutomemlimitFromCgroup is automemlimit's discovery and read of
// the memory limit.
func BenchmarkAutomemlimitFromCgroup(b *testing.B) {
	if _, err := memlimit.FromCgroup(); err != nil {
		b.Skipf("memlimit.FromCgroup: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := memlimit.FromCgroup(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeersTogether is both peers' start-up work: what a service
// importing both pays, against rightsize's cold discovery.
func BenchmarkPeersTogether(b *testing.B) {
	if _, err := memlimit.FromCgroup(); err != nil {
		b.Skipf("memlimit.FromCgroup: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		undo, err := maxprocs.Set(maxprocs.Logger(quiet))
		if err != nil {
			b.Fatal(err)
		}
		undo()
		if _, err := memlimit.FromCgroup(); err != nil {
			b.Fatal(err)
		}
	}
}

// containerd/cgroups v3 on the process's own cgroup: cgroup1 on v1 and
// hybrid hosts (Load(PidPath(pid)) maps each controller to its own path),
// cgroup2 on unified ones.
type statter interface{ stat() error }

type v1Statter struct{ c cgroup1.Cgroup }

func (s v1Statter) stat() error {
	_, err := s.c.Stat(cgroup1.IgnoreNotExist)
	return err
}

type v2Statter struct{ m *cgroup2.Manager }

func (s v2Statter) stat() error {
	_, err := s.m.Stat()
	return err
}

func containerdLoad() (statter, error) {
	if cgroups.Mode() == cgroups.Unified {
		p, err := cgroup2.PidGroupPath(os.Getpid())
		if err != nil {
			return nil, err
		}
		m, err := cgroup2.Load(p)
		if err != nil {
			return nil, err
		}
		return v2Statter{m}, nil
	}
	c, err := cgroup1.Load(cgroup1.PidPath(os.Getpid()))
	if err != nil {
		return nil, err
	}
	return v1Statter{c}, nil
}

// BenchmarkContainerdLoadStat is containerd/cgroups' discovery plus one
// full Stat.
func BenchmarkContainerdLoadStat(b *testing.B) {
	s, err := containerdLoad()
	if err != nil {
		b.Skipf("containerd cgroups Load: %v", err)
	}
	if err := s.stat(); err != nil {
		b.Skipf("containerd cgroups Stat: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := containerdLoad()
		if err != nil {
			b.Fatal(err)
		}
		if err := s.stat(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkContainerdStat is one Stat on a loaded cgroup: the comparison
// for ReadStats.
func BenchmarkContainerdStat(b *testing.B) {
	s, err := containerdLoad()
	if err != nil {
		b.Skipf("containerd cgroups Load: %v", err)
	}
	if err := s.stat(); err != nil {
		b.Skipf("containerd cgroups Stat: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.stat(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWhere prints where the benchmarks run and checks that every reader
// works here, so a broken peer shows up as a failure and not as a
// suspiciously fast benchmark.
func TestReadersWork(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only")
	}
	t.Logf("running in %s", where)
	g, err := cgroup.Open()
	if err != nil {
		t.Skipf("no cgroups: %v", err)
	}
	defer g.Close()
	var st cgroup.Stats
	if err := g.ReadStats(&st, cgroup.StatsMemory); err != nil || !st.Memory.HasUsage {
		t.Skipf("no memory usage here: %v", err)
	}
	if err := g.ReadStats(&st, cgroup.StatsAll); err != nil {
		t.Errorf("ReadStats: %v", err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = g.ReadStats(&st, cgroup.StatsAll) }); n != 0 {
		t.Errorf("ReadStats: %v allocs", n)
	}
	undo, err := maxprocs.Set(maxprocs.Logger(quiet))
	if err != nil {
		t.Errorf("maxprocs.Set: %v", err)
	} else {
		undo()
	}
	s, err := containerdLoad()
	if err != nil {
		t.Errorf("containerd Load: %v", err)
	} else if err := s.stat(); err != nil {
		t.Errorf("containerd Stat: %v", err)
	}
}
