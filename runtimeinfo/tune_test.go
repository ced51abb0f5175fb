package runtimeinfo

import (
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestReadFixture(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/cpu.max":     "120000 100000\n",
		"sys/fs/cgroup/pod/memory.high": "200000000\n",
		"proc/self/status":              "Name:\tx\nCpus_allowed_list:\t0-3\n",
		"proc/self/environ":             EnvMemoryRequestBytes + "=1000\x00" + EnvCPULimitMillis + "=900\x00",
	})
	s, err := Read(WithRoot(f.root))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if s.CPULimit == nil || s.CPULimit.Quota != 120000 || s.CPULimit.Source.File != filepath.Join(f.root, "sys/fs/cgroup/pod/cpu.max") || s.CPULimit.Source.Raw != "120000 100000" {
		t.Errorf("CPULimit = %+v; want the parent's 120000 100000 (cgroup wins over env)", s.CPULimit)
	}
	if s.CPUs.N != 4 || s.CPUs.Source.File != filepath.Join(f.root, "proc/self/status") {
		t.Errorf("CPUs = %+v", s.CPUs)
	}
	if s.MemoryLimit == nil || s.MemoryLimit.Bytes != 268435456 {
		t.Errorf("MemoryLimit = %+v", s.MemoryLimit)
	}
	if s.MemoryHigh == nil || s.MemoryHigh.Bytes != 200000000 {
		t.Errorf("MemoryHigh = %+v", s.MemoryHigh)
	}
	if s.MemoryRequest == nil || s.MemoryRequest.Bytes != 1000 || s.MemoryRequest.Source.Env != EnvMemoryRequestBytes || s.MemoryRequest.Source.File != filepath.Join(f.root, "proc/self/environ") {
		t.Errorf("MemoryRequest = %+v", s.MemoryRequest)
	}
	if s.HostMemory == nil || s.HostMemory.Bytes != 16384000*1024 {
		t.Errorf("HostMemory = %+v", s.HostMemory)
	}
	if s.CPURequest == nil || s.CPURequest.Source.Raw != "100" {
		t.Errorf("CPURequest = %+v", s.CPURequest)
	}
	if !s.Stats.Memory.HasWorkingSet || s.Stats.Memory.WorkingSet != 800000 || !s.Stats.CPU.HasThrottling || s.Stats.CPU.Throttling.ThrottledPeriods != 2 || s.Stats.PIDs.Current != 3 {
		t.Errorf("Stats = %+v", s.Stats)
	}
}

func TestReadEnvFallback(t *testing.T) {
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
		"proc/self/environ":                EnvCPULimitMillis + "=1500\x00" + EnvMemoryLimitBytes + "=536870912\x00" + EnvCPURequestMillis + "=abc\x00",
	})
	s, err := Read(WithRoot(f.root))
	if err == nil || !contains(err.Error(), EnvCPURequestMillis) {
		t.Errorf("err = %v; want the malformed %s named", err, EnvCPURequestMillis)
	}
	if s.CPULimit == nil || s.CPULimit.MilliCPU != 1500 || s.CPULimit.Source.Kind != SourceEnv || s.CPULimit.Source.Env != EnvCPULimitMillis {
		t.Errorf("CPULimit = %+v; want the Downward API value", s.CPULimit)
	}
	if s.MemoryLimit == nil || s.MemoryLimit.Bytes != 536870912 || s.MemoryLimit.Source.Kind != SourceEnv {
		t.Errorf("MemoryLimit = %+v", s.MemoryLimit)
	}
	// Live os.Getenv must not be consulted under a fixture root.
	t.Setenv(EnvMemoryLimitBytes, "1")
	s, _ = Read(WithRoot(f.root))
	if s.MemoryLimit.Bytes != 536870912 {
		t.Errorf("MemoryLimit from the live environment under a fixture root: %+v", s.MemoryLimit)
	}
}

func TestTuneAndUndo(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	noMemLimit()
	f := newFixture(t, nil) // 1.5 CPUs, 8 CPUs allowed, 256 MiB
	res, undo, err := Tune(WithRoot(f.root), quiet(), withMode("go1.24.11", ""))
	if err != nil {
		t.Fatalf("Tune: %v", err)
	}
	p, m := res.GOMAXPROCS, res.GOMEMLIMIT
	if !p.Changed || p.Value != 2 || p.Previous != 3 || runtime.GOMAXPROCS(0) != 2 || p.Source.Kind != SourceCgroup || p.Reason == "" {
		t.Errorf("GOMAXPROCS decision %+v", p)
	}
	if !m.Changed || m.Value != 241591910 || m.Previous != math.MaxInt64 || debug.SetMemoryLimit(-1) != 241591910 {
		t.Errorf("GOMEMLIMIT decision %+v", m)
	}
	undo()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("after undo GOMAXPROCS = %d, want 3", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after undo GOMEMLIMIT = %d", got)
	}
	undo() // idempotent
}

func TestTunePolicies(t *testing.T) {
	for _, tt := range []struct {
		opts []Option
		want int64
	}{
		{nil, 2},
		{[]Option{WithCPUPolicy(PolicyFloor)}, 1},
		{[]Option{WithCPUPolicy(PolicyFloor), WithMinProcs(4)}, 4},
		{[]Option{WithCPUPolicy("bogus")}, 2},
	} {
		saveRuntime(t)
		runtime.GOMAXPROCS(5)
		f := newFixture(t, nil)
		res, undo, _ := Tune(append([]Option{WithRoot(f.root), quiet(), WithGOMEMLIMIT(false)}, tt.opts...)...)
		if res.GOMAXPROCS.Value != tt.want {
			t.Errorf("%v: GOMAXPROCS %d, want %d", tt.opts, res.GOMAXPROCS.Value, tt.want)
		}
		undo()
	}
}

func TestTuneMemoryOptions(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/memory.high": "200000000\n"})
	res, undo, _ := Tune(WithRoot(f.root), quiet(), WithMemoryReserve(50<<20), WithGOMAXPROCS(false))
	if res.GOMEMLIMIT.Value != 200000000-50<<20 || res.GOMEMLIMIT.Source.File != filepath.Join(f.root, "sys/fs/cgroup/pod/memory.high") {
		t.Errorf("reserve below memory.high: %+v", res.GOMEMLIMIT)
	}
	undo()
	// Host memory below the cgroup limit caps it.
	f = newFixture(t, map[string]string{"proc/meminfo": "MemTotal: 100000 kB\n"})
	res, undo, _ = Tune(WithRoot(f.root), quiet(), WithMemoryRatio(0.5), WithGOMAXPROCS(false))
	if res.GOMEMLIMIT.Value != 100000*1024/2 || res.GOMEMLIMIT.Source.Kind != SourceProc {
		t.Errorf("host cap: %+v", res.GOMEMLIMIT)
	}
	undo()
}

func TestTuneHonoursEnv(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	noMemLimit()
	f := newFixture(t, map[string]string{"proc/self/environ": "GOMAXPROCS=5\x00GOMEMLIMIT=1GiB\x00"})
	res, undo, _ := Tune(WithRoot(f.root), quiet())
	defer undo()
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 3 || res.GOMAXPROCS.Source.Env != "GOMAXPROCS" {
		t.Errorf("GOMAXPROCS env not honoured: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT env not honoured: %+v", res.GOMEMLIMIT)
	}
	// An invalid GOMAXPROCS is ignored by the runtime, and by rightsize.
	f = newFixture(t, map[string]string{"proc/self/environ": "GOMAXPROCS=0\x00"})
	res, undo2, _ := Tune(WithRoot(f.root), quiet(), WithEnviron([]string{"GOMAXPROCS=zero"}))
	defer undo2()
	if !res.GOMAXPROCS.Changed || res.GOMAXPROCS.Value != 2 {
		t.Errorf("invalid GOMAXPROCS should be ignored: %+v", res.GOMAXPROCS)
	}
}

func TestTuneNoLimit(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(3)
	debug.SetMemoryLimit(123 << 20)
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
	})
	res, undo, _ := Tune(WithRoot(f.root), quiet())
	defer undo()
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 3 {
		t.Errorf("GOMAXPROCS without a limit: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != 123<<20 || res.GOMEMLIMIT.Source.Kind != SourceNone {
		t.Errorf("GOMEMLIMIT without a limit: %+v", res.GOMEMLIMIT)
	}
}

func TestTuneNoCgroup(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, map[string]string{
		"proc/self/cgroup":    "0::/\n",
		"proc/self/mountinfo": "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n",
	})
	var logged int
	res, undo, err := Tune(WithRoot(f.root), WithNotify(func(Decision) { logged++ }), quiet())
	defer undo()
	if err != nil || res.GOMAXPROCS.Changed || res.GOMEMLIMIT.Changed || logged != 0 || res.Snapshot.Layout != "none" {
		t.Errorf("no cgroup: err %v, %+v", err, res)
	}
}

func TestTuneLeavesRuntimeInCharge(t *testing.T) {
	saveRuntime(t)
	// 4 CPUs, leaf limit 1.5: the container-aware runtime default is 2,
	// ceil gives 2 too: rightsize must not call runtime.GOMAXPROCS.
	runtime.GOMAXPROCS(2)
	f := newFixture(t, map[string]string{"proc/self/status": "Cpus_allowed_list:\t0-3\n"})
	res, undo, _ := Tune(WithRoot(f.root), quiet(), withMode("go1.26.8", ""), WithGOMEMLIMIT(false))
	defer undo()
	if res.GOMAXPROCS.Changed || !contains(res.GOMAXPROCS.Reason, "left to the runtime") {
		t.Errorf("want the runtime left in charge: %+v", res.GOMAXPROCS)
	}
	owner.mu.Lock()
	set := owner.procs
	owner.mu.Unlock()
	if set != 0 {
		t.Errorf("owner.procs = %d, want 0", set)
	}
	// Parent tighter than the leaf: 1 CPU on the parent; the runtime sees
	// the leaf's 1.5 (default 2), rightsize sets 1 and keeps it.
	f.write("sys/fs/cgroup/pod/cpu.max", "100000 100000\n")
	res, undo2, _ := Tune(WithRoot(f.root), quiet(), withMode("go1.26.8", ""), WithGOMEMLIMIT(false))
	defer undo2()
	if !res.GOMAXPROCS.Changed || res.GOMAXPROCS.Value != 1 || !contains(res.GOMAXPROCS.Reason, "default would be 2") {
		t.Errorf("parent limit: %+v", res.GOMAXPROCS)
	}
}

func TestTuneProgramOverride(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	if res, _, _ := Tune(WithRoot(f.root), quiet()); res.GOMAXPROCS.Value != 2 {
		t.Fatalf("first Tune: %+v", res.GOMAXPROCS)
	}
	runtime.GOMAXPROCS(4)         // the program's own choice
	debug.SetMemoryLimit(1 << 30) // likewise
	res, _, _ := Tune(WithRoot(f.root), quiet())
	if res.GOMAXPROCS.Changed || runtime.GOMAXPROCS(0) != 4 || !contains(res.GOMAXPROCS.Reason, "program") {
		t.Errorf("GOMAXPROCS: %+v", res.GOMAXPROCS)
	}
	if res.GOMEMLIMIT.Changed || debug.SetMemoryLimit(-1) != 1<<30 || !contains(res.GOMEMLIMIT.Reason, "program") {
		t.Errorf("GOMEMLIMIT: %+v", res.GOMEMLIMIT)
	}
}
