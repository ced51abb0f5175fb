package runtimeinfo

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes and returns how
// long that took.
func waitFor(t *testing.T, max time.Duration, cond func() bool) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > max {
			return time.Since(start), false
		}
		time.Sleep(time.Millisecond)
	}
}

func startWatch(t *testing.T, interval time.Duration, opts ...Option) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := Watch(ctx, interval, opts...); err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestWatchFollowsResize(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil) // 8 CPUs allowed
	const interval = 50 * time.Millisecond
	var mu sync.Mutex
	var changes []Decision
	startWatch(t, interval, WithRoot(f.root), quiet(), withMode("go1.24.11", ""), WithNotify(func(d Decision) {
		mu.Lock()
		changes = append(changes, d)
		mu.Unlock()
	}))
	if _, ok := waitFor(t, 2*time.Second, func() bool { return runtime.GOMAXPROCS(0) == 2 && debug.SetMemoryLimit(-1) == 241591910 }); !ok {
		t.Fatalf("initial apply: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}

	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "536870912\n")
	d, ok := waitFor(t, 2*interval+interval/2, func() bool {
		return runtime.GOMAXPROCS(0) == 3 && debug.SetMemoryLimit(-1) == 483183820
	})
	if !ok {
		t.Fatalf("resize not followed within two intervals: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	t.Logf("resize followed in %v (interval %v)", d, interval)

	// A tighter parent (pod-level limit) is honoured.
	f.write("sys/fs/cgroup/pod/cpu.max", "100000 100000\n")
	if _, ok := waitFor(t, 2*interval+interval/2, func() bool { return runtime.GOMAXPROCS(0) == 1 }); !ok {
		t.Fatalf("parent limit not followed: %d", runtime.GOMAXPROCS(0))
	}
	// Limits removed: GOMEMLIMIT goes back to what it was, GOMAXPROCS to
	// the runtime's default.
	f.write("sys/fs/cgroup/pod/cpu.max", "max 100000\n")
	f.write("sys/fs/cgroup/pod/app/cpu.max", "max 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "max\n")
	if _, ok := waitFor(t, 2*interval+interval/2, func() bool {
		// Back to the runtime's default: runtime.SetDefaultGOMAXPROCS on
		// Go 1.25+ (the real CPU count), the fixture's 8 CPUs before.
		p := runtime.GOMAXPROCS(0)
		return (p == runtime.NumCPU() || p == 8) && debug.SetMemoryLimit(-1) == 1<<63-1
	}); !ok {
		t.Fatalf("removed limits: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	mu.Lock()
	n := len(changes)
	mu.Unlock()
	if n < 4 {
		t.Errorf("%d change notifications, want at least 4", n)
	}
}

func TestWatchStopsAfterProgramSets(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	const interval = 20 * time.Millisecond
	startWatch(t, interval, WithRoot(f.root), quiet(), withMode("go1.24.11", ""))
	if _, ok := waitFor(t, 2*time.Second, func() bool { return runtime.GOMAXPROCS(0) == 2 }); !ok {
		t.Fatal("initial apply")
	}
	runtime.GOMAXPROCS(4)
	debug.SetMemoryLimit(1 << 30)
	time.Sleep(3 * interval)
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "536870912\n")
	time.Sleep(5 * interval)
	if runtime.GOMAXPROCS(0) != 4 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Errorf("watcher overrode the program: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

func TestWatchMovedAndRemoved(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	const interval = 20 * time.Millisecond
	startWatch(t, interval, WithRoot(f.root), quiet(), withMode("go1.24.11", ""))
	if _, ok := waitFor(t, 2*time.Second, func() bool { return runtime.GOMAXPROCS(0) == 2 }); !ok {
		t.Fatal("initial apply")
	}
	// The process moves to /pod/other (limit 3 CPUs) and its old cgroup
	// is removed.
	f.write("sys/fs/cgroup/pod/other/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/other/memory.max", "536870912\n")
	f.write("proc/self/cgroup", "0::/pod/other\n")
	f.remove("sys/fs/cgroup/pod/app")
	if _, ok := waitFor(t, 2*time.Second, func() bool { return runtime.GOMAXPROCS(0) == 3 && debug.SetMemoryLimit(-1) == 483183820 }); !ok {
		t.Fatalf("after move: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

func newPrimedWatcher(tb testing.TB, opts ...Option) *watcher {
	cfg := newConfig(opts)
	w := newWatcher(&cfg)
	tb.Cleanup(w.close)
	w.tick()
	w.tick()
	return w
}

func TestWatchTickAllocs(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, nil)
	w := newPrimedWatcher(t, WithRoot(f.root), quiet(), withMode("go1.24.11", ""))
	if n := testing.AllocsPerRun(200, w.tick); n != 0 {
		t.Errorf("fixture root: %v allocations per tick when nothing changed, want 0", n)
	}
	if runtime.GOOS == "linux" {
		w := newPrimedWatcher(t, quiet())
		if n := testing.AllocsPerRun(200, w.tick); n != 0 {
			t.Errorf("live root: %v allocations per tick, want 0", n)
		}
	}
}

func BenchmarkWatchTick(b *testing.B) {
	procs, mem := runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1)
	defer func() { runtime.GOMAXPROCS(procs); debug.SetMemoryLimit(mem); resetOwner() }()
	w := newPrimedWatcher(b, quiet())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.tick()
	}
}
