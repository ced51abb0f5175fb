package runtimeinfo

import (
	"fmt"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/cgroup"
)

// Memory beyond the Go heap: the off-heap estimate and the pressure
// signals, on the fixture tree one watcher tick at a time.

func TestOffHeapSmoothing(t *testing.T) {
	var o offHeap
	now := time.Now()
	if got := o.update(100, 40, now); got != 60 {
		t.Fatalf("first measurement: %d, want 60 (taken as it is)", got)
	}
	// A rise is followed by half the step per tick.
	if got := o.update(160, 40, now); got != 90 {
		t.Errorf("rise: %d, want 90", got)
	}
	// A fall by a tenth of the step per tick.
	if got := o.update(40, 40, now); got != 81 {
		t.Errorf("fall: %d, want 81", got)
	}
	// The runtime holding more than the cgroup's anonymous memory (mapped
	// but untouched heap) is no memory of others: 0, not negative.
	var z offHeap
	if got := z.update(10, 50, now); got != 0 {
		t.Errorf("runtime above charged: %d, want 0", got)
	}
	if n := testing.AllocsPerRun(100, func() { o.update(100, 40, now) }); n != 0 {
		t.Errorf("update allocates %v times", n)
	}
	g := newGoMemory()
	g.read()
	if g.held() <= 0 {
		t.Error("the runtime holds no memory?")
	}
	if n := testing.AllocsPerRun(100, func() { g.read(); g.held(); g.heap() }); n != 0 {
		t.Errorf("goMemory allocates %v times", n)
	}
}

func TestGoMemoryHeap(t *testing.T) {
	saveRuntime(t)
	g := newGoMemory()
	noMemLimit()
	g.read()
	if _, _, ok := g.heap(); ok {
		t.Error("heap() ok without a GOMEMLIMIT")
	}
	debug.SetMemoryLimit(1 << 30)
	g.read()
	live, limit, ok := g.heap()
	if !ok || limit != 1<<30 || live <= 0 || live >= limit {
		t.Errorf("heap() = %d, %d, %v; want a live heap below GOMEMLIMIT %d", live, limit, ok, 1<<30)
	}
}

func TestChargedUnreclaimable(t *testing.T) {
	m := cgroup.MemoryStats{HasUsage: true, Usage: 300 << 20, HasWorkingSet: true,
		Anon: 100 << 20, File: 150 << 20, Shmem: 64 << 20, Sock: 1 << 20, HasKernel: true, Kernel: 2 << 20}
	// Shared memory (tmpfs, /dev/shm, MAP_SHARED) is page cache to
	// memory.stat but cannot be reclaimed without swap; the rest of the
	// page cache can.
	if got, ok := chargedUnreclaimable(&m); !ok || got != 167<<20 {
		t.Errorf("charged = %d MiB, %v; want anon 100 + shmem 64 + kernel 2 + sock 1 = 167 MiB", got>>20, ok)
	}
	m.Usage = 50 << 20
	if got, _ := chargedUnreclaimable(&m); got != 50<<20 {
		t.Errorf("charged %d above usage %d", got, m.Usage)
	}
	if _, ok := chargedUnreclaimable(&cgroup.MemoryStats{}); ok {
		t.Error("ok without memory.stat")
	}
}

func TestDecideMemOffHeap(t *testing.T) {
	const limit = 256 << 20
	static := int64(241591910) // floor(0.9 × 256 MiB)
	snap := Snapshot{HasMemoryLimit: true, MemoryLimit: Bytes{Bytes: limit, Source: Source{Kind: SourceCgroup, Path: "/sys/fs/cgroup/memory.max"}}}
	for _, tt := range []struct {
		name    string
		opts    []Option
		st      runtimeState
		want    int64
		changed bool
		reason  string
	}{
		{"no estimate yet", nil, runtimeState{memlimit: 1 << 62}, static, true, ""},
		{"80 MiB of others", nil, runtimeState{memlimit: 1 << 62, hasOffHeap: true, offHeap: 80 << 20}, static - 80<<20, true, "does not manage"},
		{"more than the static value leaves: the floor", nil, runtimeState{memlimit: 1 << 62, hasOffHeap: true, offHeap: 300 << 20}, MinGOMEMLIMIT, true, "does not manage"},
		{"switched off", []Option{WithOffHeap(false)}, runtimeState{memlimit: 1 << 62, hasOffHeap: true, offHeap: 80 << 20}, static, true, ""},
		{"a small move is not followed", nil, runtimeState{memlimit: static - 80<<20, ownerMem: static - 80<<20, hasOffHeap: true, offHeap: 81 << 20}, static - 81<<20, false, "within"},
		{"a step is", nil, runtimeState{memlimit: static - 80<<20, ownerMem: static - 80<<20, hasOffHeap: true, offHeap: 90 << 20}, static - 90<<20, true, "does not manage"},
		{"less than a step is no estimate: the kernel memory every cgroup has", nil, runtimeState{memlimit: 1 << 62, hasOffHeap: true, offHeap: 700 << 10}, static, true, ""},
		{"back under a step: the static value again", nil, runtimeState{memlimit: static - 80<<20, ownerMem: static - 80<<20, hasOffHeap: true, offHeap: 1 << 20}, static, true, ""},
		{"the program's own value is left", nil, runtimeState{memlimit: 1 << 30, ownerMem: 1 << 29, hasOffHeap: true, offHeap: 80 << 20}, static - 80<<20, false, "the program set"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := mustConfig(t, tt.opts...)
			p := decideMem(c, &snap, nil, tt.st)
			if !p.d.HasWant || p.d.Want != tt.want {
				t.Errorf("Want %d (has %v), want %d", p.d.Want, p.d.HasWant, tt.want)
			}
			if changed := p.action == set; changed != tt.changed {
				t.Errorf("set %v, want %v: %s", changed, tt.changed, p.d.Reason)
			}
			if p.d.Want > static || p.d.Want < MinGOMEMLIMIT {
				t.Errorf("Want %d outside [MinGOMEMLIMIT, static %d]", p.d.Want, static)
			}
			if !strings.Contains(p.d.Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", p.d.Reason, tt.reason)
			}
			if tt.reason == "" && strings.Contains(p.d.Reason, "does not manage") {
				t.Errorf("reason %q subtracts an estimate", p.d.Reason)
			}
		})
	}
}

// memFixture is the pod tree with the memory files set: usage, anonymous
// and inactive file memory (bytes), memory.events and memory.pressure.
func memFixture(f *fixture, usage, anon, inactive int64, maxEvents uint64, psi float64) {
	f.write("sys/fs/cgroup/pod/app/memory.current", fmt.Sprintf("%d\n", usage))
	f.write("sys/fs/cgroup/pod/app/memory.stat", fmt.Sprintf("anon %d\nfile %d\ninactive_file %d\n", anon, usage-anon, inactive))
	f.write("sys/fs/cgroup/pod/app/memory.events", fmt.Sprintf("low 0\nhigh 0\nmax %d\noom 0\noom_kill 0\n", maxEvents))
	f.write("sys/fs/cgroup/pod/app/memory.pressure", fmt.Sprintf("some avg10=%.2f avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", psi))
}

func TestWatchOffHeap(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil)    // memory.max 256 MiB
	static := int64(241591910) // floor(0.9 × 256 MiB)
	memFixture(f, 100<<20, 4<<20, 0, 0, 0)
	w := newTestWatcher(t, nil, WithRoot(f.root), quiet(), oldGo())
	w.tick()
	if got := debug.SetMemoryLimit(-1); got != static {
		t.Fatalf("no memory of others: GOMEMLIMIT %d, want the static %d", got, static)
	}
	// 200 MiB of anonymous memory the runtime does not hold.
	memFixture(f, 230<<20, 200<<20, 0, 0, 0)
	w.tick()
	w.tick()
	held := w.gomem.held()
	got := debug.SetMemoryLimit(-1)
	if got >= static-100<<20 || got < MinGOMEMLIMIT {
		t.Errorf("200 MiB of others (runtime holds %d): GOMEMLIMIT %d, want well below the static %d and not below the floor", held, got, static)
	}
	// It is gone: GOMEMLIMIT climbs back, slowly, never above the static
	// value.
	memFixture(f, 100<<20, 4<<20, 0, 0, 0)
	prev := got
	for i := 0; i < 80; i++ {
		w.tick()
		now := debug.SetMemoryLimit(-1)
		if now < prev || now > static {
			t.Fatalf("tick %d: GOMEMLIMIT %d after %d, static %d: want a climb that never passes the static value", i, now, prev, static)
		}
		prev = now
	}
	if prev < static-8<<20 {
		t.Errorf("after 80 ticks GOMEMLIMIT %d, want back near the static %d", prev, static)
	}
	// And off, it stays static whatever the others hold.
	saveRuntime(t)
	noMemLimit()
	memFixture(f, 230<<20, 200<<20, 0, 0, 0)
	w = newTestWatcher(t, nil, WithRoot(f.root), quiet(), oldGo(), WithOffHeap(false))
	w.tick()
	w.tick()
	if got := debug.SetMemoryLimit(-1); got != static {
		t.Errorf("WithOffHeap(false): GOMEMLIMIT %d, want the static %d", got, static)
	}
}

func TestPressureHeap(t *testing.T) {
	const limit = 230 << 20
	var st pressureState
	var got []string
	fire := func(p MemoryPressure) {
		sign := "-"
		if p.Active {
			sign = "+"
		}
		got = append(got, fmt.Sprintf("%s%s", p.Cause, sign))
		if p.Cause == PressureHeap && p.Active && (p.GOMEMLIMIT != limit || p.HeapLive == 0) {
			t.Errorf("signal %+v lacks the heap figures", p)
		}
	}
	for _, s := range []struct {
		what string
		live int64 // < 0: no GOMEMLIMIT
		want string
	}{
		{"healthy: 0.82", limit * 82 / 100, ""},
		{"0.88: below the threshold", limit * 88 / 100, ""},
		{"0.91: begins", limit * 91 / 100, "heap+"},
		{"0.95: no stream", limit * 95 / 100, ""},
		{"0.87: inside the hysteresis", limit * 87 / 100, ""},
		{"0.84: ends", limit * 84 / 100, "heap-"},
		{"0.90: begins again", limit * 90 / 100, "heap+"},
		{"GOMEMLIMIT taken away: ends", -1, "heap-"},
		{"still none: nothing", -1, ""},
	} {
		got = got[:0]
		in := pressureInput{now: time.Now()}
		if s.live >= 0 {
			in.hasHeap, in.heapLive, in.gomemlimit = true, s.live, limit
		}
		st.observe(&in, fire)
		if e := strings.Join(got, ","); e != s.want {
			t.Errorf("%s: signals %q, want %q", s.what, e, s.want)
		}
	}
	in := pressureInput{now: time.Now(), hasHeap: true, heapLive: limit / 2, gomemlimit: limit}
	if n := testing.AllocsPerRun(100, func() { st.observe(&in, fire) }); n != 0 {
		t.Errorf("observe allocates %v times", n)
	}
}

func TestWatchPressureSignals(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil) // memory.max 256 MiB
	memFixture(f, 100<<20, 50<<20, 0, 0, 0)
	var got []MemoryPressure
	// The off-heap estimate is off here: it moves GOMEMLIMIT as the fixture
	// swings, which is TestWatchOffHeap's business.
	w := newTestWatcher(t, nil, WithRoot(f.root), quiet(), oldGo(), WithOffHeap(false),
		WithMemoryPressure(func(p MemoryPressure) { got = append(got, p) }))
	before := PressureSignals(PressureWorkingSet)
	steps := []struct {
		what                 string
		usage, inactive      int64
		maxEvents            uint64
		psi                  float64
		want                 string // the edges of this tick
		quietTicksAfterwards int
	}{
		{"calm", 100 << 20, 0, 0, 0, "", 0},
		{"working set at 95%", 243 << 20, 0, 0, 0, "working-set+", 0},
		{"still at 93%: no stream", 238 << 20, 0, 0, 0, "", 0},
		{"at 88%: inside the hysteresis", 226 << 20, 0, 0, 0, "", 0},
		{"at 80%: ended", 205 << 20, 0, 0, 0, "working-set-", 0},
		{"page cache is not the working set", 250 << 20, 100 << 20, 0, 0, "", 0},
		{"usage hit the limit", 200 << 20, 0, 3, 0, "max+", 0},
		{"and again", 200 << 20, 0, 7, 0, "", 0},
		{"quiet", 200 << 20, 0, 7, 0, "", PressureQuietTicks - 2},
		{"quiet long enough: ended", 200 << 20, 0, 7, 0, "max-", 0},
		{"stalls at 20%", 200 << 20, 0, 7, 20, "psi+", 0},
		{"stalls at 7%: still on", 200 << 20, 0, 7, 7, "", 0},
		{"stalls at 2%: ended", 200 << 20, 0, 7, 2, "psi-", 0},
	}
	for _, s := range steps {
		memFixture(f, s.usage, s.usage/2, s.inactive, s.maxEvents, s.psi)
		n := len(got)
		w.tick()
		var edges []string
		for _, p := range got[n:] {
			sign := "-"
			if p.Active {
				sign = "+"
			}
			edges = append(edges, string(p.Cause)+sign)
			if p.At.IsZero() || (p.Cause == PressureWorkingSet && p.Limit != 256<<20) {
				t.Errorf("%s: signal %+v", s.what, p)
			}
		}
		if e := strings.Join(edges, ","); e != s.want {
			t.Errorf("%s: signals %q, want %q", s.what, e, s.want)
		}
		for i := 0; i < s.quietTicksAfterwards; i++ {
			n := len(got)
			w.tick()
			if len(got) != n {
				t.Errorf("%s, quiet tick %d: signals %+v", s.what, i, got[n:])
			}
		}
	}
	if d := PressureSignals(PressureWorkingSet) - before; d != 1 {
		t.Errorf("PressureSignals(working-set) counted %d begins, want 1", d)
	}
	// Nothing fires: no allocation.
	memFixture(f, 100<<20, 50<<20, 0, 7, 0)
	w.tick()
	if n := testing.AllocsPerRun(100, w.tick); n != 0 {
		t.Errorf("a tick with pressure handlers allocates %v times when nothing fires", n)
	}
}

func TestTunerOnMemoryPressure(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil)
	memFixture(f, 100<<20, 50<<20, 0, 0, 0)
	_, tuner, err := Start(WithRoot(f.root), quiet(), oldGo(), WithInterval(MinWatchInterval))
	if err != nil {
		t.Fatal(err)
	}
	defer tuner.Undo()
	fired := make(chan MemoryPressure, 10)
	remove := tuner.OnMemoryPressure(func(p MemoryPressure) { fired <- p })
	memFixture(f, 250<<20, 100<<20, 0, 0, 0)
	select {
	case p := <-fired:
		if p.Cause != PressureWorkingSet || !p.Active {
			t.Errorf("first signal %+v, want working-set begins", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no signal within 5 s of the working set passing 90%")
	}
	remove()
	memFixture(f, 100<<20, 50<<20, 0, 0, 0)
	time.Sleep(3 * MinWatchInterval)
	select {
	case p := <-fired:
		t.Errorf("a removed handler was called: %+v", p)
	default:
	}
	var nilTuner *Tuner
	nilTuner.OnMemoryPressure(func(MemoryPressure) {})()
}

// TestWatchOffHeapKeptOnReadError: a tick whose memory.stat cannot be read
// keeps the room the estimate made; GOMEMLIMIT does not jump back to the
// static value for that tick.
func TestWatchOffHeapKeptOnReadError(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil) // memory.max 256 MiB
	memFixture(f, 230<<20, 200<<20, 0, 0, 0)
	w := newTestWatcher(t, nil, WithRoot(f.root), quiet(), oldGo())
	w.tick()
	w.tick()
	before := debug.SetMemoryLimit(-1)
	if before >= 241591910-100<<20 {
		t.Fatalf("200 MiB of others: GOMEMLIMIT %d, want room left", before)
	}
	f.write("sys/fs/cgroup/pod/app/memory.stat", "anon oops\n")
	w.tick()
	if got := debug.SetMemoryLimit(-1); got > before+before/100 {
		t.Errorf("memory.stat unreadable: GOMEMLIMIT %d after %d, want the room kept", got, before)
	}
}

// TestChargedUnreclaimableSaturates: four parts near MaxInt64 (a hostile
// memory.stat) add up to the usage, not to a wrapped negative sum.
func TestChargedUnreclaimableSaturates(t *testing.T) {
	const big = math.MaxInt64 - 1
	m := cgroup.MemoryStats{HasUsage: true, Usage: big, HasWorkingSet: true, Anon: big, Shmem: big, Sock: big, HasKernel: true, Kernel: big}
	if v, ok := chargedUnreclaimable(&m); !ok || v != big {
		t.Errorf("charged %d (%v), want the usage %d", v, ok, int64(big))
	}
	m = cgroup.MemoryStats{HasUsage: true, Usage: 100, HasWorkingSet: true, Anon: 30, Shmem: 20, Sock: 5, HasKernel: true, Kernel: 10}
	if v, _ := chargedUnreclaimable(&m); v != 65 {
		t.Errorf("charged %d, want 65", v)
	}
}
