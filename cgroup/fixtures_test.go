package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// want describes what a fixture tree must read as. Zero-valued limits mean
// "no limit"; dirs lists the expected directory per controller ("" means the
// controller must be absent).
type want struct {
	layout   Layout
	dirs     map[Controller]string
	degraded []Controller
	cpus     float64
	cpuDir   string
	mem      int64
	memDir   string
	memFile  string
	high     int64
	pids     int64
	pidsDir  string
	cpuErr   bool
	memErr   bool
}

var fixtureTests = map[string]want{
	"v1-docker": {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu,cpuacct", CPUAcct: "/sys/fs/cgroup/cpu,cpuacct", Memory: "/sys/fs/cgroup/memory", PIDs: "/sys/fs/cgroup/pids", CPUSet: "/sys/fs/cgroup/cpuset"},
		cpus: 1.5, cpuDir: "/sys/fs/cgroup/cpu,cpuacct", mem: 268435456, memDir: "/sys/fs/cgroup/memory", memFile: "memory.limit_in_bytes", pids: 100, pidsDir: "/sys/fs/cgroup/pids"},
	"v1-unlimited":    {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu,cpuacct", Memory: "/sys/fs/cgroup/memory"}},
	"v1-hierarchical": {layout: LayoutV1, mem: 536870912, memDir: "/sys/fs/cgroup/memory", memFile: "memory.stat"},
	"v1-nested": {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1234/abcd"},
		cpus: 2, cpuDir: "/sys/fs/cgroup/cpu,cpuacct/kubepods/burstable/pod1234", mem: 1073741824, memDir: "/sys/fs/cgroup/memory/kubepods/burstable/pod1234", memFile: "memory.limit_in_bytes",
		pids: 512, pidsDir: "/sys/fs/cgroup/pids/kubepods/burstable/pod1234"},
	"v1-large":   {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpuacct,cpu/big"}, cpus: 6, cpuDir: "/sys/fs/cgroup/cpuacct,cpu/big", mem: 1 << 40, memDir: "/sys/fs/cgroup/memory/big", memFile: "memory.limit_in_bytes"},
	"v1-joined6": {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/all/job", Memory: "/sys/fs/cgroup/all/job", PIDs: "/sys/fs/cgroup/all/job", CPUSet: "/sys/fs/cgroup/all/job"}, cpus: 0.5, cpuDir: "/sys/fs/cgroup/all/job", pids: 64, pidsDir: "/sys/fs/cgroup/all/job"},
	"v1-twice":   {layout: LayoutV1, dirs: map[Controller]string{Memory: "/sys/fs/cgroup/memory"}, mem: 1048576, memDir: "/sys/fs/cgroup/memory", memFile: "memory.limit_in_bytes"},
	"v1-degraded": {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu,cpuacct", Memory: "/sys/fs/cgroup/memory"}, degraded: []Controller{CPU, Memory},
		cpus: 2.5, cpuDir: "/sys/fs/cgroup/cpu,cpuacct"},
	"v1-sandbox": {layout: LayoutV1, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu/ctr", Memory: "/sys/fs/cgroup/memory"}, degraded: []Controller{Memory},
		cpus: 1, cpuDir: "/sys/fs/cgroup/cpu/ctr", mem: 1048576, memDir: "/sys/fs/cgroup/memory", memFile: "memory.limit_in_bytes"},
	"v2-nested": {layout: LayoutV2, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/a/b", CPUAcct: "/sys/fs/cgroup/a/b", Memory: "/sys/fs/cgroup/a/b", PIDs: "/sys/fs/cgroup/a/b", CPUSet: "/sys/fs/cgroup/a/b", Unified: "/sys/fs/cgroup/a/b"},
		cpus: 2, cpuDir: "/sys/fs/cgroup/a", mem: 524288000, memDir: "/sys/fs/cgroup/a", memFile: "memory.max", high: 1073741824, pids: 200, pidsDir: "/sys/fs/cgroup/a/b"},
	"v2-leaf-tighter": {layout: LayoutV2, cpus: 0.5, cpuDir: "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice/cri-containerd-abc.scope",
		mem: 734003200, memDir: "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod12_34.slice", memFile: "memory.max"},
	"v2-namespace":         {layout: LayoutV2, dirs: map[Controller]string{CPU: "/sys/fs/cgroup", Memory: "/sys/fs/cgroup"}, cpus: 1.5, cpuDir: "/sys/fs/cgroup", high: 1073741824},
	"v2-two-mounts":        {layout: LayoutV2, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/x"}, cpus: 1, cpuDir: "/sys/fs/cgroup/x"},
	"v2-outside-namespace": {layout: LayoutV2, dirs: map[Controller]string{CPU: "/cgroup-in/x"}, cpus: 3, cpuDir: "/cgroup-in/x"},
	"hybrid": {layout: LayoutHybrid, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/cpu", CPUAcct: "/sys/fs/cgroup/cpuacct", Memory: "/sys/fs/cgroup/memory/svc", PIDs: "/sys/fs/cgroup/pids", Unified: "/sys/fs/cgroup/unified"},
		mem: 2147483648, memDir: "/sys/fs/cgroup/memory/svc", memFile: "memory.limit_in_bytes"},
	"v2-leftover-v1":            {layout: LayoutHybrid, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/app", Memory: "/sys/fs/cgroup/app"}, cpus: 2, cpuDir: "/sys/fs/cgroup/app", mem: 268435456, memDir: "/sys/fs/cgroup/app", memFile: "memory.max"},
	"none":                      {layout: LayoutNone, dirs: map[Controller]string{CPU: "", Memory: "", PIDs: "", Unified: ""}},
	"v2-escapes":                {layout: LayoutV2, dirs: map[Controller]string{CPU: "/sys/fs/cgroup/my cg/x"}, cpus: 2.5, cpuDir: "/sys/fs/cgroup/my cg/x"},
	"v2-cpumax-single":          {layout: LayoutV2, cpus: 0.5, cpuDir: "/sys/fs/cgroup/a"},
	"v2-bad-cpumax-suffix":      {layout: LayoutV2, cpuErr: true, memErr: true},
	"v2-bad-cpumax-3fields":     {layout: LayoutV2, cpuErr: true, memErr: true},
	"v2-bad-cpumax-zero-period": {layout: LayoutV2, cpuErr: true, memErr: true},
	"v2-bad-cpumax-neg-period":  {layout: LayoutV2, cpuErr: true, memErr: true},
	"v1-bad-quota":              {layout: LayoutV1, cpuErr: true},
	"v1-missing-period":         {layout: LayoutV1, cpuErr: true},
}

func skipUnlessLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
}

func TestFixtures(t *testing.T) {
	skipUnlessLinux(t)
	for name, w := range fixtureTests {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata", name)
			g, err := Open(WithRoot(root))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer g.Close()
			if g.Layout() != w.layout {
				t.Errorf("Layout = %q, want %q", g.Layout(), w.layout)
			}
			for c, dir := range w.dirs {
				loc, ok := g.Location(c)
				if dir == "" {
					if ok {
						t.Errorf("%s: found at %+v, want absent", c, loc)
					}
					continue
				}
				if !ok || loc.Dir != dir {
					t.Errorf("%s: Dir = %q (ok=%v), want %q", c, loc.Dir, ok, dir)
				}
				if loc.Degraded != contains(w.degraded, c) {
					t.Errorf("%s: Degraded = %v", c, loc.Degraded)
				}
			}

			cpu, ok, err := g.CPULimit()
			checkErr(t, "CPULimit", err, w.cpuErr, root)
			if !w.cpuErr {
				// The file that sets a CPU limit: cpu.max on v2, the
				// quota file (with the period beside it) on v1.
				cpuFile := "cpu.cfs_quota_us"
				if loc, _ := g.Location(CPU); loc.Version == 2 {
					cpuFile = "cpu.max"
				}
				if w.cpus == 0 && ok {
					t.Errorf("CPULimit = %+v, want none", cpu)
				} else if w.cpus != 0 && (!ok || cpu.CPUs != w.cpus || path.Dir(cpu.Path) != w.cpuDir || path.Base(cpu.Path) != cpuFile) {
					t.Errorf("CPULimit = %+v ok=%v, want %v CPUs from %s/%s", cpu, ok, w.cpus, w.cpuDir, cpuFile)
				}
				if ok && (cpu.Quota <= 0 || cpu.Period <= 0 || float64(cpu.Quota)/float64(cpu.Period) != cpu.CPUs) {
					t.Errorf("CPULimit = %+v: CPUs is not Quota/Period", cpu)
				}
			}

			mem, ok, err := g.MemoryLimit()
			checkErr(t, "MemoryLimit", err, w.memErr, root)
			if !w.memErr {
				// A limit from memory.stat names its key; one from a
				// limit file does not.
				wantKey := ""
				if w.memFile == "memory.stat" {
					wantKey = "hierarchical_memory_limit"
				}
				if w.mem == 0 && ok {
					t.Errorf("MemoryLimit = %+v, want none", mem)
				} else if w.mem != 0 && (!ok || mem.Bytes != w.mem || path.Dir(mem.Path) != w.memDir || path.Base(mem.Path) != w.memFile || mem.Key != wantKey) {
					t.Errorf("MemoryLimit = %+v ok=%v, want %d from %s/%s (key %q)", mem, ok, w.mem, w.memDir, w.memFile, wantKey)
				}
			}

			high, ok, err := g.MemoryHigh()
			if !w.memErr {
				if err != nil || (w.high == 0) == ok || high.Bytes != w.high || (ok && path.Base(high.Path) != "memory.high") {
					t.Errorf("MemoryHigh = %+v ok=%v err=%v, want %d", high, ok, err, w.high)
				}
			}

			pids, ok, err := g.PIDsLimit()
			if err != nil || (w.pids == 0) == ok || pids.Max != w.pids || (ok && (path.Dir(pids.Path) != w.pidsDir || path.Base(pids.Path) != "pids.max")) {
				t.Errorf("PIDsLimit = %+v ok=%v err=%v, want %d from %s/pids.max", pids, ok, err, w.pids, w.pidsDir)
			}
		})
	}
}

// checkErr checks that err is a file error naming a file below root (made
// absolute, as Open makes every root) when want is set, and nil otherwise.
func checkErr(t *testing.T, what string, err error, want bool, root string) {
	t.Helper()
	if !want {
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
		return
	}
	var fe *Error
	if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("%s: error %v is not a file error", what, err)
	}
	abs := absPath(t, root)
	if !strings.HasPrefix(fe.Path, abs+string(filepath.Separator)) {
		t.Errorf("%s: error path %q is not below %q", what, fe.Path, abs)
	}
}

// absPath is filepath.Abs that fails the test on error.
func absPath(t testing.TB, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestFixtureStatsV2(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPU: CPUStats{HasUsage: true, Usage: 2500 * time.Millisecond, UsagePath: "/sys/fs/cgroup/a/b/cpu.stat", HasThrottling: true,
			Throttling: Throttling{Periods: 50, ThrottledPeriods: 5, ThrottledTime: 250 * time.Millisecond}},
		Memory: MemoryStats{HasUsage: true, Usage: 209715200, HasWorkingSet: true, WorkingSet: 209715200 - 52428800, InactiveFile: 52428800,
			Anon: 104857600, File: 104857600,
			HasPeak: true, Peak: 314572800, HasEvents: true, Events: MemoryEvents{High: 12, Max: 3, OOM: 1, OOMKill: 1}},
		PIDs: PIDsStats{HasCurrent: true, Current: 12},
		// The process's own cgroup (not the hierarchy's root): not
		// host-wide.
		Pressure: PressureStats{HasCPU: true, HasMemory: true, HasIO: true,
			CPU: PSI{Some: PSILine{Avg10: 1.5, Avg60: 0.75, Avg300: 0.1, Total: 123456 * time.Microsecond},
				Full: PSILine{Avg10: 0.5, Avg60: 0.25, Avg300: 0.05, Total: 65432 * time.Microsecond}, HasFull: true},
			Memory: PSI{HasFull: true},
			IO:     PSI{Some: PSILine{Total: 10 * time.Microsecond}, Full: PSILine{Total: 5 * time.Microsecond}, HasFull: true}},
	}
	if st != want {
		t.Fatalf("ReadStats =\n%+v\nwant\n%+v", st, want)
	}
	req, ok, err := g.CPURequest()
	if err != nil || !ok || req.Weight != 100 || req.MilliCPU != 1000 || !req.Approx || req.Path != "/sys/fs/cgroup/a/b/cpu.weight" {
		t.Errorf("CPURequest = %+v %v %v", req, ok, err)
	}
	n, ok, err := g.CPUSetCPUs()
	if err != nil || !ok || n != (CPUCount{CPUs: 2, Path: "/sys/fs/cgroup/a/b/cpuset.cpus.effective"}) {
		t.Errorf("CPUSetCPUs = %+v %v %v", n, ok, err)
	}
	swap, ok, err := g.SwapLimit()
	if err != nil || !ok || swap != (MemoryLimit{Bytes: 0, Path: "/sys/fs/cgroup/a/b/memory.swap.max"}) {
		t.Errorf("SwapLimit = %+v %v %v, want 0 (leaf swap.max 0)", swap, ok, err)
	}
}

func TestFixtureStatsV1(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v1-docker"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var st Stats
	if err := g.ReadStats(&st, StatsAll); err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPU: CPUStats{HasUsage: true, Usage: 98765432100, UsagePath: "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", HasThrottling: true,
			Throttling: Throttling{Periods: 120, ThrottledPeriods: 30, ThrottledTime: 4500 * time.Millisecond}},
		Memory: MemoryStats{HasUsage: true, Usage: 104857600, HasWorkingSet: true, WorkingSet: 104857600 - 10485760, InactiveFile: 10485760,
			Anon: 83886080, File: 20971520,
			HasPeak: true, Peak: 157286400, HasEvents: true, Events: MemoryEvents{Max: 3, OOM: 1, OOMKill: 1}},
		PIDs: PIDsStats{HasCurrent: true, Current: 7},
	}
	if st != want {
		t.Fatalf("ReadStats =\n%+v\nwant\n%+v", st, want)
	}
	req, ok, err := g.CPURequest()
	if err != nil || !ok || req.Shares != 1536 || req.MilliCPU != 1500 || req.Approx || req.Path != "/sys/fs/cgroup/cpu,cpuacct/cpu.shares" {
		t.Errorf("CPURequest = %+v %v %v", req, ok, err)
	}
	n, ok, err := g.CPUSetCPUs()
	if err != nil || !ok || n != (CPUCount{CPUs: 4, Path: "/sys/fs/cgroup/cpuset/cpuset.effective_cpus"}) {
		t.Errorf("CPUSetCPUs = %+v %v %v", n, ok, err)
	}
	swap, ok, err := g.SwapLimit()
	if err != nil || !ok || swap.Bytes != 536870912-268435456 || path.Base(swap.Path) != "memory.memsw.limit_in_bytes" {
		t.Errorf("SwapLimit = %+v %v %v", swap, ok, err)
	}
	// The single-value reads of before (MemoryUsage, CPUUsage,
	// PIDsCurrent) are ReadStats with one group: the same values, the
	// other groups left clear.
	var one Stats
	if err := g.ReadStats(&one, StatsMemory); err != nil || !one.Memory.HasUsage || one.Memory.Usage != 104857600 || one.CPU.HasUsage || one.PIDs.HasCurrent {
		t.Errorf("ReadStats(StatsMemory) = %+v %v", one, err)
	}
	if err := g.ReadStats(&one, StatsCPU); err != nil || one.CPU != want.CPU || one.Memory.HasUsage {
		t.Errorf("ReadStats(StatsCPU) = %+v %v", one, err)
	}
	if err := g.ReadStats(&one, StatsPIDs); err != nil || one.PIDs != want.PIDs || one.CPU.HasUsage {
		t.Errorf("ReadStats(StatsPIDs) = %+v %v", one, err)
	}
}

func TestFixtureLeafWeightApprox(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-leaf-tighter"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	req, ok, err := g.CPURequest()
	if err != nil || !ok || !req.Approx || req.Weight != 39 {
		t.Fatalf("CPURequest = %+v %v %v", req, ok, err)
	}
}

func TestNoControllerIsNotAnError(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/none"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// A controller that is not mounted leaves its values unset, without
	// an error (the usage readers of before said ErrNotAvailable).
	var st Stats
	for _, set := range []StatsSet{StatsMemory, StatsCPU, StatsPIDs, StatsPressure, StatsAll} {
		if err := g.ReadStats(&st, set); err != nil || st != (Stats{}) {
			t.Errorf("ReadStats(%#x) = %+v, %v", set, st, err)
		}
	}
	if _, ok, err := g.SwapLimit(); ok || err != nil {
		t.Errorf("SwapLimit ok=%v err=%v", ok, err)
	}
	if _, ok, err := g.CPURequest(); ok || err != nil {
		t.Errorf("CPURequest ok=%v err=%v", ok, err)
	}
}

func TestOpenErrors(t *testing.T) {
	skipUnlessLinux(t)
	// Error paths carry the root made absolute.
	_, err := Open(WithRoot("testdata/bad-proc-cgroup"))
	var fe *Error
	if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) || fe.Path != absPath(t, "testdata/bad-proc-cgroup/proc/self/cgroup") {
		t.Fatalf("Open bad cgroup file: %v", err)
	}
	_, err = Open(WithRoot("testdata/does-not-exist"))
	if !errors.As(err, &fe) || fe.Path != absPath(t, "testdata/does-not-exist/proc/self/cgroup") {
		t.Fatalf("Open missing root: %v", err)
	}
}

func TestClosedHandle(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	if _, _, err := g.CPULimit(); err == nil {
		t.Fatal("read after Close succeeded")
	}
}

func contains(cs []Controller, c Controller) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func TestFiles(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	files, err := g.files()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"/sys/fs/cgroup/cgroup.controllers": true,
		"/sys/fs/cgroup/a/cpu.max":          true,
		"/sys/fs/cgroup/a/b/memory.stat":    true,
		"/sys/fs/cgroup/a/b/io.pressure":    true,
	}
	for _, f := range files {
		delete(want, f)
		if filepath.IsAbs(f) == false {
			t.Errorf("relative path %q", f)
		}
	}
	if len(want) != 0 {
		t.Errorf("files() = %q lacks %v", files, want)
	}
}

func TestLeafCPULimitAndMoved(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, ok, err := g.LeafCPULimit(); ok || err != nil {
		t.Errorf("LeafCPULimit: leaf says max, got ok=%v err=%v", ok, err)
	}
	g2, err := Open(WithRoot("testdata/v2-leaf-tighter"))
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	if l, ok, err := g2.LeafCPULimit(); !ok || err != nil || l.CPUs != 0.5 {
		t.Errorf("LeafCPULimit = %+v %v %v", l, ok, err)
	}
	moved, err := g.Moved()
	if err != nil || moved {
		t.Errorf("Moved = %v %v on an unchanged tree", moved, err)
	}
	if n := testing.AllocsPerRun(20, func() { g.Moved() }); n != 0 {
		t.Errorf("Moved allocates %v", n)
	}
	root := testenv.CopyTreeTemp(t, "testdata/v2-nested")
	g3, err := Open(WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	defer g3.Close()
	if err := os.WriteFile(filepath.Join(root, "proc/self/cgroup"), []byte("0::/a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if moved, err := g3.Moved(); err != nil || !moved {
		t.Errorf("Moved = %v %v after the cgroup file changed", moved, err)
	}
}

func TestReadStatsSet(t *testing.T) {
	skipUnlessLinux(t)
	g, err := Open(WithRoot("testdata/v2-nested"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var all, core Stats
	if err := g.ReadStats(&all, StatsAll); err != nil {
		t.Fatal(err)
	}
	if err := g.ReadStats(&core, StatsCore); err != nil {
		t.Fatal(err)
	}
	want := Stats{CPU: all.CPU, PIDs: all.PIDs}
	want.Memory = MemoryStats{HasUsage: true, Usage: all.Memory.Usage, HasWorkingSet: true, WorkingSet: all.Memory.WorkingSet, InactiveFile: all.Memory.InactiveFile,
		Anon: all.Memory.Anon, File: all.Memory.File, HasKernel: all.Memory.HasKernel, Kernel: all.Memory.Kernel}
	if core != want {
		t.Fatalf("ReadStats(StatsCore) =\n%+v\nwant\n%+v", core, want)
	}
	var p Stats
	if err := g.ReadStats(&p, StatsPressure|StatsMemoryEvents); err != nil || !p.Pressure.HasCPU || !p.Memory.HasEvents || p.CPU.HasUsage || p.Memory.HasUsage {
		t.Fatalf("ReadStats(pressure|events) = %+v, %v", p, err)
	}
	// A set selects nothing beyond itself; the zero set clears st.
	if err := g.ReadStats(&p, 0); err != nil || p != (Stats{}) {
		t.Fatalf("ReadStats(0) = %+v, %v", p, err)
	}
	if err := g.ReadStats(nil, StatsAll); err == nil {
		t.Fatal("ReadStats(nil) succeeded")
	}
}

// memoryUsageErr runs the memory usage reader alone and returns its error;
// a file it found absent (the reader leaves its values unset without an
// error, so that ReadStats does not allocate, and the level records the
// absence) is reported as the limit readers report a missing file: an error
// wrapping ErrNotAvailable that names it. Tests that check which file was
// missing call this.
func memoryUsageErr(g *Group) error {
	if err := g.lock(); err != nil {
		return err
	}
	defer g.mu.Unlock()
	var m MemoryStats
	if err := g.readMemoryUsage(&m); err != nil {
		return err
	}
	for _, id := range []fileID{fMemCurrent, fMemUsageV1, fMemStat} {
		if g.levels[Memory][0].absent&(1<<id) != 0 {
			return g.absentErr(Memory, 0, id)
		}
	}
	return nil
}

// readSyscalls returns how many read system calls (pread included) fn
// makes, from the calling thread's I/O accounting (/proc/thread-self/io),
// with the goroutine locked to its thread. It skips t where the kernel
// does not account per thread.
func readSyscalls(t *testing.T, fn func()) int64 {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	count := func() int64 {
		data, err := os.ReadFile("/proc/thread-self/io")
		if err != nil {
			t.Skipf("no per-thread I/O accounting: %v", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "syscr: "); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatalf("syscr %q: %v", v, err)
				}
				return n
			}
		}
		t.Skip("no syscr in /proc/thread-self/io")
		return 0
	}
	c0 := count()
	c1 := count() // what counting itself costs
	fn()
	c2 := count()
	return c2 - c1 - (c1 - c0)
}

// TestReadsEachFileOnce: a warm reader makes one pread per file it needs.
// v2 cpu.stat serves both CPU usage and throttling; v1 SwapLimit needs the
// memory+swap limit, memory.stat (both hierarchical limits) and the memory
// limit, here at the one visible level.
func TestReadsEachFileOnce(t *testing.T) {
	skipUnlessLinux(t)
	for _, tc := range []struct {
		name, root string
		call       func(g *Group) error
		want       int64
	}{
		{"v2 StatsCPU", "testdata/v2-nested", func(g *Group) error {
			var st Stats
			err := g.ReadStats(&st, StatsCPU)
			if err == nil && (!st.CPU.HasUsage || !st.CPU.HasThrottling) {
				err = fmt.Errorf("CPU stats %+v", st.CPU)
			}
			return err
		}, 1},
		{"v1 SwapLimit", "testdata/v1-swap-hidden", func(g *Group) error {
			_, ok, err := g.SwapLimit()
			if err == nil && !ok {
				err = errors.New("no swap limit")
			}
			return err
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Open(WithRoot(tc.root))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := tc.call(g); err != nil { // opens the files
				t.Fatal(err)
			}
			if n := readSyscalls(t, func() { err = tc.call(g) }); err != nil || n != tc.want {
				t.Errorf("%d reads (error %v), want %d", n, err, tc.want)
			}
		})
	}
}
