package runtimeinfo

import (
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The decision is a pure function of a Snapshot, the options, the
// environment and the runtime state: these tests build snapshots by hand.

var (
	srcCPU    = Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/app/cpu.max"}
	srcMem    = Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/app/memory.max"}
	srcHigh   = Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/app/memory.high"}
	srcHost   = Source{Kind: SourceProc, Path: "/proc/meminfo", Key: "MemTotal"}
	srcCPUs   = Source{Kind: SourceAffinity}
	srcEnvMem = Source{Kind: SourceEnv, Env: EnvMemoryLimitBytes}
)

// cpuSnap is a snapshot with a CPU limit of quota/period (no limit when
// period is 0) on cpus CPUs.
func cpuSnap(quota, period time.Duration, cpus int64) *Snapshot {
	s := &Snapshot{CPUs: Count{N: cpus, Source: srcCPUs}}
	if period != 0 {
		s.HasCPULimit = true
		s.CPULimit = CPU{CPUs: float64(quota) / float64(period), Quota: quota, Period: period, Source: srcCPU}
	}
	return s
}

// leaf gives the snapshot the same limit on its leaf, and a mode.
func leaf(s *Snapshot, m RuntimeMode) *Snapshot {
	s.HasLeafCPULimit, s.LeafCPULimit, s.Mode = s.HasCPULimit, s.CPULimit, m
	return s
}

// memSnap is a snapshot with the given memory limit, memory.high and host
// memory (0: absent).
func memSnap(limit, high, host int64) *Snapshot {
	s := &Snapshot{CPUs: Count{N: 8, Source: srcCPUs}}
	if limit != 0 {
		s.HasMemoryLimit, s.MemoryLimit = true, Bytes{Bytes: limit, Source: srcMem}
	}
	if high != 0 {
		s.HasMemoryHigh, s.MemoryHigh = true, Bytes{Bytes: high, Source: srcHigh}
	}
	if host != 0 {
		s.HasHostMemory, s.HostMemory = true, Bytes{Bytes: host, Source: srcHost}
	}
	return s
}

var (
	aware    = RuntimeMode{GoVersion: "go1.26.8", ContainerAware: true, Updates: true, Reason: "test: aware, updates"}
	awareOff = RuntimeMode{GoVersion: "go1.26.8", ContainerAware: true, Reason: "test: aware, no updates"}
)

const maxDur = time.Duration(math.MaxInt64)

// floorLimit is the smallest limit whose DefaultMemoryRatio is
// MinGOMEMLIMIT.
var floorLimit = int64(math.Ceil(MinGOMEMLIMIT / DefaultMemoryRatio))

func TestDecideProcsWant(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
		s    *Snapshot
		want int64
	}{
		{"ceil 1.5", nil, cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), 2},
		{"floor 1.5", []Option{WithCPUPolicy(PolicyFloor)}, cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), 1},
		{"ceil 1", nil, cpuSnap(100*time.Millisecond, 100*time.Millisecond, 8), 1},
		{"floor 1", []Option{WithCPUPolicy(PolicyFloor)}, cpuSnap(100*time.Millisecond, 100*time.Millisecond, 8), 1},
		{"floor 0.5 gives the minimum 1", []Option{WithCPUPolicy(PolicyFloor)}, cpuSnap(50*time.Millisecond, 100*time.Millisecond, 8), 1},
		{"ceil 0.1", nil, cpuSnap(10*time.Millisecond, 100*time.Millisecond, 8), 1},
		{"ceil 2.0001", nil, cpuSnap(200010*time.Microsecond, 100*time.Millisecond, 8), 3},
		{"ceil capped at the CPUs", nil, cpuSnap(time.Second, 100*time.Millisecond, 4), 4},
		{"minimum raises", []Option{WithCPUPolicy(PolicyFloor), WithMinProcs(3)}, cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), 3},
		{"minimum capped at the CPUs", []Option{WithMinProcs(6)}, cpuSnap(150*time.Millisecond, 100*time.Millisecond, 4), 4},
		{"no limit: the CPUs", nil, cpuSnap(0, 0, 6), 6},
		{"no limit, floor: the CPUs", []Option{WithCPUPolicy(PolicyFloor)}, cpuSnap(0, 0, 6), 6},
		{"millicores 1500", nil, &Snapshot{HasCPULimit: true, CPULimit: cpuFromMillis(1500, srcCPU), CPUs: Count{N: 8}}, 2},
		{"zero CPUs counted as 1", nil, cpuSnap(300*time.Millisecond, 100*time.Millisecond, 0), 1},
		// Overflow: the largest quota is more CPU than any machine has,
		// never 1 (or less) by wrapping around.
		{"quota MaxInt64, period 100ms", nil, cpuSnap(maxDur, 100*time.Millisecond, 8), 8},
		{"quota MaxInt64, period 1ns", nil, cpuSnap(maxDur, 1, 8), 8},
		{"quota MaxInt64, period 3ns, ceil", nil, cpuSnap(maxDur, 3, 8), 8},
		{"quota MaxInt64, period 3ns, floor", []Option{WithCPUPolicy(PolicyFloor)}, cpuSnap(maxDur, 3, 8), 8},
		{"quota MaxInt64, period MaxInt64", nil, cpuSnap(maxDur, maxDur, 8), 1},
		{"quota MaxInt64, period MaxInt64-1", nil, cpuSnap(maxDur, maxDur-1, 8), 2},
		{"millicores MaxInt64", nil, &Snapshot{HasCPULimit: true, CPULimit: cpuFromMillis(math.MaxInt64, srcCPU), CPUs: Count{N: 64}}, 64},
		{"quota MaxInt64 on MaxInt64 CPUs", nil, cpuSnap(maxDur, 100*time.Millisecond, math.MaxInt64), int64(maxDur/(100*time.Millisecond)) + 1},
		{"quota MaxInt64, minimum MaxInt32", []Option{WithMinProcs(math.MaxInt32)}, cpuSnap(maxDur, time.Second, 16), 16},
		// The runtime policy is what the Go runtime would choose.
		{"runtime, old Go", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), RuntimeMode{}), 8},
		{"runtime, aware, 1.5", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), aware), 2},
		{"runtime, aware, 1 gives 2", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(100*time.Millisecond, 100*time.Millisecond, 8), aware), 2},
		{"runtime, aware, 3.2 gives 4", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(320*time.Millisecond, 100*time.Millisecond, 8), aware), 4},
		{"runtime, aware, 1 CPU", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(50*time.Millisecond, 100*time.Millisecond, 1), aware), 1},
		{"runtime, aware, parent limit only", []Option{WithCPUPolicy(PolicyRuntime)}, func() *Snapshot {
			s := cpuSnap(100*time.Millisecond, 100*time.Millisecond, 8)
			s.Mode = aware
			return s
		}(), 8},
		{"runtime, aware, MaxInt64 leaf", []Option{WithCPUPolicy(PolicyRuntime)}, leaf(cpuSnap(maxDur, 1, 8), aware), 8},
		{"runtime, minimum 5", []Option{WithCPUPolicy(PolicyRuntime), WithMinProcs(5)}, leaf(cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8), aware), 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConfig(t, tt.opts...)
			p := decideProcs(c, tt.s, nil, runtimeState{procs: 7})
			if !p.d.HasWant || p.d.Want != tt.want {
				t.Errorf("Want = %d (HasWant %v), want %d; reason %q", p.d.Want, p.d.HasWant, tt.want, p.d.Reason)
			}
			if got := procsFor(c, tt.s); got != tt.want {
				t.Errorf("procsFor = %d, want %d", got, tt.want)
			}
			checkProcsEnvelope(t, tt.s, p)
		})
	}
}

// checkProcsEnvelope: a reason, and a GOMAXPROCS within [1, usable CPUs]
// for the Want and for any value the plan sets.
func checkProcsEnvelope(t *testing.T, s *Snapshot, p settingPlan) {
	t.Helper()
	cpus := max(s.CPUs.N, 1)
	if p.d.Reason == "" {
		t.Errorf("empty reason: %+v", p.d)
	}
	if p.d.Setting != GOMAXPROCS {
		t.Errorf("setting %q", p.d.Setting)
	}
	if p.d.HasWant && (p.d.Want < 1 || p.d.Want > cpus) {
		t.Errorf("Want %d outside [1, %d]: %s", p.d.Want, cpus, p.d.Reason)
	}
	if p.action == handBack && (p.value < 1 || p.value > cpus) {
		t.Errorf("hands back with %d, CPUs %d", p.value, cpus)
	}
	if p.action == set && (p.value != p.d.Want || p.value < 1 || p.value > cpus) {
		t.Errorf("sets %d, Want %d, CPUs %d", p.value, p.d.Want, cpus)
	}
}

// checkMemEnvelope: a reason, and a GOMEMLIMIT never above the effective
// limit and never below MinGOMEMLIMIT for the Want and for any value the
// plan sets.
func checkMemEnvelope(t *testing.T, s *Snapshot, p settingPlan) {
	t.Helper()
	if p.d.Reason == "" {
		t.Errorf("empty reason: %+v", p.d)
	}
	if p.d.Setting != GOMEMLIMIT {
		t.Errorf("setting %q", p.d.Setting)
	}
	eff, ok := int64(math.MaxInt64), false
	if s.HasMemoryLimit {
		eff, ok = s.MemoryLimit.Bytes, true
	}
	if s.HasMemoryHigh {
		eff, ok = min(eff, s.MemoryHigh.Bytes), true
	}
	if ok && s.HasHostMemory {
		eff = min(eff, s.HostMemory.Bytes)
	}
	// The floor wins over a limit below it: the envelope is
	// [MinGOMEMLIMIT, max(limit, MinGOMEMLIMIT)].
	eff = max(eff, MinGOMEMLIMIT)
	if p.d.HasWant && (!ok || p.d.Want > eff || p.d.Want < MinGOMEMLIMIT) {
		t.Errorf("Want %d outside [%d, %d] (limit known: %v): %s", p.d.Want, MinGOMEMLIMIT, eff, ok, p.d.Reason)
	}
	if p.action == set && (p.value != p.d.Want || p.value < MinGOMEMLIMIT || p.value > eff) {
		t.Errorf("sets %d, Want %d, effective limit %d", p.value, p.d.Want, eff)
	}
}

// checkQuiet: a quiet decision is the loud one without its reasons.
func checkQuiet(t *testing.T, c *config, s *Snapshot, st runtimeState) {
	t.Helper()
	loud := decide(c, s, nil, st)
	st.quiet = true
	q := decide(c, s, nil, st)
	if q.procs.d.Reason != "" || q.mem.d.Reason != "" {
		t.Errorf("quiet decision with reasons: %q, %q", q.procs.d.Reason, q.mem.d.Reason)
	}
	loud.procs.d.Reason, loud.mem.d.Reason = "", ""
	if !reflect.DeepEqual(loud, q) || loud.acts() != q.acts() {
		t.Errorf("quiet plan %+v, loud plan %+v", q, loud)
	}
}

// TestDecideQuietNoAlloc: the watcher's steady state with an off-heap
// estimate that moves by less than a step decides without allocating,
// and its plan does not act (so no reasons are built at all).
func TestDecideQuietNoAlloc(t *testing.T) {
	c := mustConfig(t)
	s := memSnap(256<<20, 0, 0)
	static := memFor(c, 256<<20)
	st := runtimeState{procs: int64(s.CPUs.N), memlimit: static - 40<<20, ownerMem: static - 40<<20, memOrig: math.MaxInt64,
		hasOffHeap: true, offHeap: 40<<20 + 512<<10, quiet: true}
	if p := decide(c, s, nil, st); p.acts() {
		t.Fatalf("an estimate half a MiB off acts: %+v", p)
	}
	if n := testing.AllocsPerRun(100, func() { _ = decide(c, s, nil, st) }); n != 0 {
		t.Errorf("%v allocations per quiet decision, want 0", n)
	}
}

// TestDecideShrunkBelowFloor: a resize that leaves the computed GOMEMLIMIT
// below the floor lowers rightsize's own earlier value to the floor rather
// than keeping it above the new limit; a value the program set is kept.
func TestDecideShrunkBelowFloor(t *testing.T) {
	c := mustConfig(t, WithMemoryReserve(100<<20))
	s := memSnap(100<<20, 0, 0) // limit − reserve = 0
	ours := runtimeState{memlimit: 924 << 20, ownerMem: 924 << 20, memOrig: math.MaxInt64}
	p := decideMem(c, s, nil, ours)
	if p.action != set || p.value != MinGOMEMLIMIT || !p.warn {
		t.Errorf("rightsize's 924 MiB over a 100 MiB limit: %+v, want set to the floor with a warning", p)
	}
	checkMemEnvelope(t, s, p)
	theirs := runtimeState{memlimit: 924 << 20, memOrig: math.MaxInt64}
	if p := decideMem(c, s, nil, theirs); p.action != leave {
		t.Errorf("a value rightsize did not set: %+v, want it left", p)
	}
}

func TestDecideProcsActions(t *testing.T) {
	s15 := func() *Snapshot { return cpuSnap(150*time.Millisecond, 100*time.Millisecond, 8) } // Want 2
	unreadable := func() *Snapshot { s := cpuSnap(0, 0, 8); s.cpuErr = true; return s }
	for _, tt := range []struct {
		name       string
		opts       []Option
		s          *Snapshot
		env        []string
		st         runtimeState
		action     action
		reason     string // in the reason
		warn       bool
		programSet bool
		noWant     bool
	}{
		{name: "set", s: s15(), st: runtimeState{procs: 5}, action: set, reason: "limit 1.5 CPUs (cgroup /sys/fs/cgroup/app/cpu.max), policy ceil, minimum 1, 8 CPUs usable (affinity): 2"},
		{name: "already in force", s: s15(), st: runtimeState{procs: 2}, action: leave, reason: "already in force"},
		{name: "GOMAXPROCS in the environment wins", s: s15(), env: []string{"GOMAXPROCS=5"}, st: runtimeState{procs: 5}, action: leave, reason: "GOMAXPROCS=5 is set in the environment: left alone"},
		{name: "invalid GOMAXPROCS is ignored like the runtime does", s: s15(), env: []string{"GOMAXPROCS=0"}, st: runtimeState{procs: 5}, action: set},
		{name: "GOMAXPROCS=x is ignored", s: s15(), env: []string{"GOMAXPROCS=x"}, st: runtimeState{procs: 5}, action: set},
		{name: "empty GOMAXPROCS is ignored", s: s15(), env: []string{"GOMAXPROCS="}, st: runtimeState{procs: 5}, action: set},
		{name: "disabled", opts: []Option{WithGOMAXPROCS(false)}, s: s15(), st: runtimeState{procs: 5}, action: leave, reason: "disabled by option"},
		{name: "the program's own value", s: s15(), st: runtimeState{procs: 4, ownerProcs: 2}, action: leave, programSet: true, reason: "the program set GOMAXPROCS to 4 after rightsize set 2: left alone from now on"},
		{name: "the program's own value, later", s: s15(), st: runtimeState{procs: 4, ownerProcs: 2, procsOff: true}, action: leave, reason: "the program set its own GOMAXPROCS after rightsize"},
		{name: "unreadable limit", s: unreadable(), st: runtimeState{procs: 5}, action: leave, warn: true, noWant: true, reason: "cannot read the CPU limit: left as it is"},
		{name: "no limit, never set", s: cpuSnap(0, 0, 8), st: runtimeState{procs: 5}, action: leave, reason: "no CPU limit: 8 CPUs usable (affinity); left to the Go runtime"},
		{name: "limit gone", s: cpuSnap(0, 0, 8), st: runtimeState{procs: 2, ownerProcs: 2}, action: handBack, reason: "the CPU limit is gone"},
		{name: "equals the updating runtime default: handed back", s: leaf(s15(), aware), st: runtimeState{procs: 5, canHand: true}, action: handBack, reason: "handed back to the runtime (test: aware, updates)"},
		{name: "equals the updating runtime default, rightsize had set it", s: leaf(s15(), aware), st: runtimeState{procs: 2, ownerProcs: 2, canHand: true}, action: handBack, reason: "handed back"},
		{name: "equals the updating runtime default, in force", s: leaf(s15(), aware), st: runtimeState{procs: 2, canHand: true}, action: leave, reason: "left to the runtime"},
		{name: "equals the runtime default, cannot hand back", s: leaf(s15(), aware), st: runtimeState{procs: 5}, action: leave, reason: "left to the runtime"},
		{name: "aware without updates: set", s: leaf(cpuSnap(100*time.Millisecond, 100*time.Millisecond, 8), awareOff), st: runtimeState{procs: 2, canHand: true}, action: set, reason: "the Go runtime's default would be 2"},
		{name: "parent tighter than the leaf", s: func() *Snapshot {
			s := leaf(s15(), aware)
			s.CPULimit = CPU{CPUs: 1, Quota: 100 * time.Millisecond, Period: 100 * time.Millisecond, Source: srcCPU}
			return s
		}(), st: runtimeState{procs: 2, canHand: true}, action: set, reason: "the Go runtime's default would be 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConfig(t, tt.opts...)
			p := decideProcs(c, tt.s, tt.env, tt.st)
			if p.action != tt.action || p.warn != tt.warn || p.programSet != tt.programSet {
				t.Errorf("action %d warn %v programSet %v, want %d %v %v: %s", p.action, p.warn, p.programSet, tt.action, tt.warn, tt.programSet, p.d.Reason)
			}
			if !contains(p.d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", p.d.Reason, tt.reason)
			}
			if p.d.HasWant == tt.noWant {
				t.Errorf("HasWant %v: %+v", p.d.HasWant, p.d)
			}
			if p.d.Value != tt.st.procs || p.d.Previous != tt.st.procs || p.d.Changed {
				t.Errorf("decide changed the decision's values: %+v", p.d)
			}
			checkProcsEnvelope(t, tt.s, p)
		})
	}
}

func TestDecideMem(t *testing.T) {
	const mib = 1 << 20
	noLimit := int64(math.MaxInt64)
	for _, tt := range []struct {
		name       string
		opts       []Option
		s          *Snapshot
		env        []string
		st         runtimeState
		action     action
		value      int64
		want       int64 // 0: no Want
		source     Source
		reason     string
		warn       bool
		programSet bool
	}{
		{name: "0.9 of the limit", s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: noLimit}, action: set, value: 241591910, want: 241591910, source: srcMem,
			reason: "0.9 × limit 268435456 bytes (256.0 MiB) (cgroup /sys/fs/cgroup/app/memory.max): 241591910 bytes (230.4 MiB)"},
		{name: "ratio 0.5", opts: []Option{WithMemoryRatio(0.5)}, s: memSnap(1<<30, 0, 0), st: runtimeState{memlimit: noLimit}, action: set, value: 1 << 29, want: 1 << 29, source: srcMem},
		{name: "ratio 1 of the largest limit", opts: []Option{WithMemoryRatio(1)}, s: memSnap(math.MaxInt64, 0, 0), st: runtimeState{memlimit: 1 << 30}, action: set, value: math.MaxInt64, want: math.MaxInt64, source: srcMem},
		{name: "reserve", opts: []Option{WithMemoryReserve(100 * mib)}, s: memSnap(1<<30, 0, 0), st: runtimeState{memlimit: noLimit}, action: set, value: 1<<30 - 100*mib, want: 1<<30 - 100*mib, reason: "minus reserve 104857600 bytes (100.0 MiB)"},
		{name: "reserve leaves exactly the floor", opts: []Option{WithMemoryReserve(100 * mib)}, s: memSnap(100*mib+MinGOMEMLIMIT, 0, 0), st: runtimeState{memlimit: noLimit}, action: set, value: MinGOMEMLIMIT, want: MinGOMEMLIMIT},
		{name: "reserve leaves one byte below the floor", opts: []Option{WithMemoryReserve(100 * mib)}, s: memSnap(100*mib+MinGOMEMLIMIT-1, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, warn: true,
			reason: "is below the floor of " + fmtBytes(MinGOMEMLIMIT) + " (runtimeinfo.MinGOMEMLIMIT): not applied, no limit kept"},
		{name: "reserve just below the limit", opts: []Option{WithMemoryReserve(256*mib - 1)}, s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: 1 << 30}, action: leave, warn: true,
			reason: ": 1 bytes is below the floor of " + fmtBytes(MinGOMEMLIMIT) + " (runtimeinfo.MinGOMEMLIMIT): not applied, 1073741824 bytes (1.0 GiB) kept"},
		{name: "reserve as large as the limit", opts: []Option{WithMemoryReserve(256 * mib)}, s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "below the floor"},
		{name: "reserve larger than the limit", opts: []Option{WithMemoryReserve(math.MaxInt64)}, s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "below the floor"},
		{name: "a limit of one byte", s: memSnap(1, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "0.9 × limit 1 bytes (cgroup /sys/fs/cgroup/app/memory.max): 0 bytes is below the floor"},
		{name: "a limit of a few bytes", s: memSnap(5, 0, 0), st: runtimeState{memlimit: 300 * mib}, action: leave, warn: true, reason: "not applied, 314572800 bytes (300.0 MiB) kept"},
		{name: "the Downward API's 1 byte", s: func() *Snapshot {
			s := memSnap(0, 0, 16<<30)
			s.HasMemoryLimit, s.MemoryLimit = true, Bytes{Bytes: 1, Source: srcEnvMem}
			return s
		}(), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "(env RIGHTSIZE_MEMORY_LIMIT_BYTES): 0 bytes is below the floor"},
		{name: "the smallest limit whose 0.9 reaches the floor", s: memSnap(floorLimit, 0, 0), st: runtimeState{memlimit: noLimit}, action: set, value: MinGOMEMLIMIT, want: MinGOMEMLIMIT},
		{name: "one byte less", s: memSnap(floorLimit-1, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "below the floor"},
		{name: "host memory below the limit caps", s: memSnap(256*mib, 0, 100*mib), st: runtimeState{memlimit: noLimit}, action: set, value: 94371840, want: 94371840, source: srcHost, reason: "(host memory is below the cgroup limit)"},
		{name: "host memory above the limit", s: memSnap(256*mib, 0, 16<<30), st: runtimeState{memlimit: noLimit}, action: set, value: 241591910, want: 241591910, source: srcMem},
		{name: "memory.high below the limit wins", s: memSnap(256*mib, 200000000, 16<<30), st: runtimeState{memlimit: noLimit}, action: set, value: 180000000, want: 180000000, source: srcHigh},
		{name: "memory.high above the limit", s: memSnap(256*mib, 300*mib, 16<<30), st: runtimeState{memlimit: noLimit}, action: set, value: 241591910, want: 241591910, source: srcMem},
		{name: "memory.high alone", s: memSnap(0, 200000000, 16<<30), st: runtimeState{memlimit: noLimit}, action: set, value: 180000000, want: 180000000, source: srcHigh},
		{name: "host memory alone sets nothing", s: memSnap(0, 0, 16<<30), st: runtimeState{memlimit: noLimit}, action: leave, reason: "no memory limit: left alone"},
		{name: "unreadable limit", s: func() *Snapshot { s := memSnap(0, 0, 0); s.memErr = true; return s }(), st: runtimeState{memlimit: noLimit}, action: leave, warn: true, reason: "cannot read the memory limit: left as it is"},
		{name: "GOMEMLIMIT in the environment wins", s: memSnap(256*mib, 0, 0), env: []string{"GOMEMLIMIT=1GiB"}, st: runtimeState{memlimit: 1 << 30}, action: leave, want: 241591910, reason: "GOMEMLIMIT=1GiB is set in the environment: left alone"},
		{name: "GOMEMLIMIT=off in the environment wins", s: memSnap(256*mib, 0, 0), env: []string{"GOMEMLIMIT=off"}, st: runtimeState{memlimit: noLimit}, action: leave, want: 241591910, reason: "GOMEMLIMIT=off is set"},
		{name: "empty GOMEMLIMIT is not set", s: memSnap(256*mib, 0, 0), env: []string{"GOMEMLIMIT="}, st: runtimeState{memlimit: noLimit}, action: set, value: 241591910, want: 241591910},
		{name: "disabled", opts: []Option{WithGOMEMLIMIT(false)}, s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: noLimit}, action: leave, want: 241591910, reason: "disabled by option"},
		{name: "the program's own value", s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: 1 << 30, ownerMem: 200 * mib}, action: leave, want: 241591910, programSet: true,
			reason: "the program set GOMEMLIMIT to 1073741824 after rightsize set 209715200: left alone from now on"},
		{name: "the program's own value, later", s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: 1 << 30, ownerMem: 200 * mib, memOff: true}, action: leave, want: 241591910, reason: "the program set its own GOMEMLIMIT"},
		{name: "limit gone: restored", s: memSnap(0, 0, 16<<30), st: runtimeState{memlimit: 200 * mib, ownerMem: 200 * mib, memOrig: noLimit}, action: restore, value: noLimit, reason: "restored the value in force before rightsize"},
		{name: "already in force", s: memSnap(256*mib, 0, 0), st: runtimeState{memlimit: 241591910, ownerMem: 241591910}, action: leave, want: 241591910, reason: "already in force"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConfig(t, tt.opts...)
			p := decideMem(c, tt.s, tt.env, tt.st)
			if p.action != tt.action || p.warn != tt.warn || p.programSet != tt.programSet {
				t.Errorf("action %d warn %v programSet %v, want %d %v %v: %s", p.action, p.warn, p.programSet, tt.action, tt.warn, tt.programSet, p.d.Reason)
			}
			if (p.action == set || p.action == restore) && p.value != tt.value {
				t.Errorf("value %d, want %d: %s", p.value, tt.value, p.d.Reason)
			}
			if tt.want != 0 && (!p.d.HasWant || p.d.Want != tt.want) {
				t.Errorf("Want %d (HasWant %v), want %d: %s", p.d.Want, p.d.HasWant, tt.want, p.d.Reason)
			}
			if tt.want == 0 && p.d.HasWant && tt.warn {
				t.Errorf("a value outside the envelope is reported as Want %d: %s", p.d.Want, p.d.Reason)
			}
			if tt.source != (Source{}) && p.d.Source != tt.source {
				t.Errorf("source %s, want %s", p.d.Source, tt.source)
			}
			if !contains(p.d.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", p.d.Reason, tt.reason)
			}
			if p.d.Value != tt.st.memlimit || p.d.Previous != tt.st.memlimit || p.d.Changed {
				t.Errorf("decide changed the decision's values: %+v", p.d)
			}
			checkMemEnvelope(t, tt.s, p)
		})
	}
}

// TestDecideEnvelope runs decide over a grid of extreme inputs: every
// reason is non-empty, every Want lies within the safety envelope and
// nothing outside it is ever set.
func TestDecideEnvelope(t *testing.T) {
	durs := []time.Duration{1, 3, time.Microsecond, 99 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond, time.Second, maxDur / 2, maxDur - 1, maxDur}
	cpus := []int64{0, 1, 2, 3, 8, 1024, math.MaxInt32, math.MaxInt64}
	mems := []int64{1, 5, MinGOMEMLIMIT - 1, MinGOMEMLIMIT, floorLimit - 1, floorLimit, 256 << 20, 1 << 40, math.MaxInt64 - 1, math.MaxInt64}
	optSets := [][]Option{
		nil,
		{WithCPUPolicy(PolicyFloor)},
		{WithCPUPolicy(PolicyRuntime)},
		{WithMinProcs(3)},
		{WithMinProcs(math.MaxInt32)},
		{WithMemoryRatio(1)},
		{WithMemoryRatio(1e-9)},
		{WithMemoryReserve(1)},
		{WithMemoryReserve(MinGOMEMLIMIT)},
		{WithMemoryReserve(math.MaxInt64)},
	}
	modes := []RuntimeMode{{}, aware, awareOff}
	states := []runtimeState{
		{procs: 1, memlimit: math.MaxInt64, canHand: true},
		{procs: 2, memlimit: 100 << 20, ownerProcs: 2, ownerMem: 100 << 20, memOrig: math.MaxInt64, canHand: true},
	}
	n := 0
	for _, opts := range optSets {
		c := mustConfig(t, opts...)
		for _, m := range modes {
			for _, q := range durs {
				for _, per := range durs {
					for _, ncpu := range cpus {
						s := leaf(cpuSnap(q, per, ncpu), m)
						for _, st := range states {
							checkProcsEnvelope(t, s, decideProcs(c, s, nil, st))
							n++
						}
					}
				}
			}
		}
		for _, limit := range append([]int64{0}, mems...) {
			for _, high := range append([]int64{0}, mems...) {
				for _, host := range []int64{0, 1, 16 << 30, math.MaxInt64} {
					s := memSnap(limit, high, host)
					for _, st := range states {
						checkMemEnvelope(t, s, decideMem(c, s, nil, st))
						n++
					}
				}
			}
		}
		if t.Failed() {
			break
		}
	}
	t.Logf("%d decisions checked", n)
}

// FuzzDecide checks the envelope on arbitrary inputs (go test runs the
// seeds; go test -fuzz FuzzDecide explores).
func FuzzDecide(f *testing.F) {
	f.Add(int64(150000), int64(100000), int64(8), int64(256<<20), int64(0), int64(16<<30), 0.9, int64(0), uint8(0))
	f.Add(int64(math.MaxInt64), int64(1), int64(2), int64(1), int64(5), int64(1), 1.0, int64(math.MaxInt64), uint8(1))
	f.Add(int64(1), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64-1), int64(0), 1e-12, int64(1), uint8(2))
	f.Fuzz(func(t *testing.T, quota, period, ncpu, limit, high, host int64, ratio float64, reserve int64, policy uint8) {
		opts := []Option{WithCPUPolicy([]CPUPolicy{PolicyCeil, PolicyFloor, PolicyRuntime}[policy%3])}
		if ratio > 0 && ratio <= 1 {
			opts = append(opts, WithMemoryRatio(ratio))
		}
		if reserve > 0 {
			opts = append(opts, WithMemoryReserve(reserve))
		}
		c := mustConfig(t, opts...)
		s := leaf(cpuSnap(time.Duration(quota), time.Duration(period), ncpu), aware)
		if period <= 0 || quota <= 0 {
			s = cpuSnap(0, 0, ncpu)
		}
		st := runtimeState{procs: 3, memlimit: math.MaxInt64, canHand: true}
		checkProcsEnvelope(t, s, decideProcs(c, s, nil, st))
		pos := func(v int64) int64 { return max(v, 0) }
		ms := memSnap(pos(limit), pos(high), pos(host))
		checkMemEnvelope(t, ms, decideMem(c, ms, nil, st))
		// After a resize: rightsize's own value from before, with an
		// off-heap estimate; the envelope holds, and a quiet decision is
		// the same plan without reasons.
		owned := runtimeState{procs: 3, memlimit: max(pos(high), MinGOMEMLIMIT), ownerMem: max(pos(high), MinGOMEMLIMIT), memOrig: math.MaxInt64,
			canHand: true, hasOffHeap: reserve > 0, offHeap: pos(reserve)}
		for _, st := range []runtimeState{st, owned} {
			mp := decideMem(c, ms, nil, st)
			checkMemEnvelope(t, ms, mp)
			checkQuiet(t, c, s, st)
			checkQuiet(t, c, ms, st)
		}
	})
}

func TestMilliCPU(t *testing.T) {
	for _, tt := range []struct {
		quota, period time.Duration
		want          int64
	}{
		{150 * time.Millisecond, 100 * time.Millisecond, 1500},
		{1, 3, 334},
		{0, time.Second, 0},
		{time.Second, 0, 0},
		{maxDur, 1, math.MaxInt64},
		{maxDur, time.Second, 9223372036855},
		{maxDur, maxDur, 1000},
	} {
		if got := (CPU{Quota: tt.quota, Period: tt.period}).MilliCPU(); got != tt.want {
			t.Errorf("MilliCPU(%d/%d) = %d, want %d", tt.quota, tt.period, got, tt.want)
		}
	}
	if c := cpuFromMillis(math.MaxInt64, Source{}); c.Quota != maxDur || c.Period != time.Second {
		t.Errorf("cpuFromMillis(MaxInt64) = %+v, want a saturated quota", c)
	}
}

func TestMemFor(t *testing.T) {
	for _, tt := range []struct {
		limit   int64
		opts    []Option
		want    int64
		comment string
	}{
		{256 << 20, nil, 241591910, "0.9 by default"},
		{1 << 30, []Option{WithMemoryRatio(0.5)}, 1 << 29, ""},
		{1 << 30, []Option{WithMemoryReserve(100 << 20)}, 1<<30 - 100<<20, ""},
		{100 << 20, []Option{WithMemoryReserve(100 << 20)}, 0, "a reserve as large as the limit leaves nothing"},
		{0, nil, 0, "no limit"},
		{-1, nil, 0, "no limit"},
		{math.MaxInt64, []Option{WithMemoryRatio(1)}, math.MaxInt64, "never above the limit"},
		{math.MaxInt64, nil, 8301034833169298432, ""},
		{1, nil, 0, ""},
	} {
		if got := memFor(mustConfig(t, tt.opts...), tt.limit); got != tt.want || got > max(tt.limit, 0) {
			t.Errorf("memFor(%d) = %d, want %d %s", tt.limit, got, tt.want, tt.comment)
		}
	}
}

func TestValidGOMAXPROCS(t *testing.T) {
	for v, want := range map[string]bool{"4": true, "0": false, "-1": false, "x": false, "": false, "99999999999": false, "2147483647": true, "+3": true} {
		if got := validGOMAXPROCS(v); got != want {
			t.Errorf("validGOMAXPROCS(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestFmtBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "0 bytes",
		1023:          "1023 bytes",
		1024:          "1024 bytes (1.0 KiB)",
		256 << 20:     "268435456 bytes (256.0 MiB)",
		math.MaxInt64: "9223372036854775807 bytes (8388608.0 TiB)",
	} {
		if got := fmtBytes(n); got != want {
			t.Errorf("fmtBytes(%d) = %q, want %q", n, got, want)
		}
	}
	if got := fmtLimit(math.MaxInt64); got != "no limit" {
		t.Errorf("fmtLimit(MaxInt64) = %q", got)
	}
}

func TestDetectMode(t *testing.T) {
	for _, tt := range []struct {
		version, def, env string
		aware, updates    bool
	}{
		{"go1.24.11", "", "", false, false},
		{"go1.22.12", "", "containermaxprocs=1", false, false},
		{"go1.25.0", "", "", true, true},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0,x509sha1=1", "", false, false},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0", "containermaxprocs=1", true, false},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0", "containermaxprocs=1,updatemaxprocs=1", true, true},
		{"go1.26.8", "", "updatemaxprocs=0", true, false},
		{"go1.26.8", "", "containermaxprocs=0", false, false},
		{"go1.26.8", "", "containermaxprocs=0,containermaxprocs=1", true, true},
		{"devel go1.27-abcdef Mon Jan 1", "", "", true, true},
		{"go1.26rc1", "", "", true, true},
		{"weird", "", "", true, true},
	} {
		m := detectMode(tt.version, tt.def, tt.env)
		if m.ContainerAware != tt.aware || m.Updates != tt.updates || m.GoVersion != tt.version {
			t.Errorf("detectMode(%q, %q, %q) = %+v, want aware %v updates %v", tt.version, tt.def, tt.env, m, tt.aware, tt.updates)
		}
		if m.Reason == "" {
			t.Errorf("detectMode(%q, %q, %q): empty reason", tt.version, tt.def, tt.env)
		}
	}
	// The test binary's own mode: this module's go line (1.22) puts
	// containermaxprocs=0 in its default GODEBUG.
	if m := detectRuntimeMode(nil); m.ContainerAware || !strings.Contains(m.Reason, "containermaxprocs=0") && !strings.Contains(m.Reason, "no container-aware") {
		t.Errorf("detectRuntimeMode(nil) = %+v", m)
	}
	if m := detectRuntimeMode([]string{"GODEBUG=containermaxprocs=1"}); detectMode(runtime.Version(), "", "").ContainerAware && !m.ContainerAware {
		t.Errorf("detectRuntimeMode(GODEBUG=containermaxprocs=1) = %+v", m)
	}
}

// TestHandBackValue: handing GOMAXPROCS back carries the runtime's default
// for the CPUs usable now (what Go before 1.25 is set to; a cpuset may have
// narrowed since runtime.NumCPU was counted), inside the envelope.
func TestHandBackValue(t *testing.T) {
	c := mustConfig(t)
	s := cpuSnap(0, 0, 3) // the limit is gone; 3 CPUs usable
	p := decideProcs(c, s, nil, runtimeState{procs: 2, ownerProcs: 2, canHand: true})
	if p.action != handBack || p.value != 3 {
		t.Errorf("limit gone: %+v, want hand back with 3", p)
	}
	checkProcsEnvelope(t, s, p)
}
