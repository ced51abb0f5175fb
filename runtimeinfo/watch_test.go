package runtimeinfo

import (
	"context"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// newTestWatcher is the watcher Watch runs, without its ticker: the test
// calls tick itself, so that "a tick after the write" is a call, not a
// sleep.
func newTestWatcher(tb testing.TB, changed func(Decision, *Snapshot), opts ...Option) *watcher {
	tb.Helper()
	r := newReader(*mustConfig(tb, opts...))
	tb.Cleanup(func() { r.Close() })
	return newWatcher(r, changed)
}

// TestWatchTicks follows a fixture tree through resizes, a tighter parent,
// the removal of the limits, and their return, one tick at a time.
func TestWatchTicks(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil) // 1.5 CPUs, 256 MiB, 8 CPUs allowed
	var changes []Decision
	w := newTestWatcher(t, func(d Decision, s *Snapshot) {
		if s != &changesSnapshotCheck && s.Root == "" {
			t.Errorf("change without its snapshot: %+v", d)
		}
		changes = append(changes, d)
	}, WithRoot(f.root), quiet(), oldGo())

	step := func(what string, procs int, mem int64, nchanges int) {
		t.Helper()
		before := len(changes)
		w.tick()
		if got := runtime.GOMAXPROCS(0); got != procs {
			t.Errorf("%s: GOMAXPROCS %d, want %d", what, got, procs)
		}
		if got := debug.SetMemoryLimit(-1); got != mem {
			t.Errorf("%s: GOMEMLIMIT %d, want %d", what, got, mem)
		}
		if n := len(changes) - before; n != nchanges {
			t.Errorf("%s: %d changes, want %d: %+v", what, n, nchanges, changes[before:])
		}
		for _, d := range changes[before:] {
			if d.Reason == "" || !d.Changed || d.At.IsZero() {
				t.Errorf("%s: change %+v", what, d)
			}
		}
	}
	step("first tick", 2, 241591910, 2)
	step("nothing changed", 2, 241591910, 0)
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "536870912\n")
	step("resize to 3 CPUs, 512 MiB", 3, 483183820, 2)
	f.write("sys/fs/cgroup/pod/cpu.max", "100000 100000\n")
	step("a tighter parent", 1, 483183820, 1)
	f.write("sys/fs/cgroup/pod/memory.high", "200000000\n")
	step("memory.high", 1, 180000000, 1)
	if d := changes[len(changes)-1]; d.Source.Path != "/sys/fs/cgroup/pod/memory.high" {
		t.Errorf("source %s", d.Source)
	}
	// The limits removed: GOMEMLIMIT goes back to its value from before
	// rightsize, GOMAXPROCS to the runtime's default (the number of CPUs
	// the runtime sees; on Go 1.25+ runtime.SetDefaultGOMAXPROCS).
	f.write("sys/fs/cgroup/pod/cpu.max", "max 100000\n")
	f.write("sys/fs/cgroup/pod/app/cpu.max", "max 100000\n")
	f.write("sys/fs/cgroup/pod/memory.high", "max\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "max\n")
	w.tick()
	if got := runtime.GOMAXPROCS(0); got != defaultProcs() {
		t.Errorf("limits removed: GOMAXPROCS %d, want the runtime's default %d", got, defaultProcs())
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limits removed: GOMEMLIMIT %d", got)
	}
	// And back.
	f.write("sys/fs/cgroup/pod/app/cpu.max", "250000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "268435456\n")
	step("limits back", 3, 241591910, 2)
}

var changesSnapshotCheck Snapshot

// defaultProcs is what runtime.SetDefaultGOMAXPROCS (or, before Go 1.25,
// runtimeinfo's hand back) gives in this test binary: this module's go line
// (1.22) turns the container-aware default off, so it is the CPU count.
func defaultProcs() int { return runtime.NumCPU() }

// TestWatchStopsAfterProgramSets: once the program sets its own values
// after rightsize did, the watcher leaves them alone, through later
// resizes. The negative check runs a tick after the write.
func TestWatchStopsAfterProgramSets(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	logs := &logCapture{}
	w := newTestWatcher(t, nil, WithRoot(f.root), logs.option(), oldGo())
	w.tick()
	if runtime.GOMAXPROCS(0) != 2 || debug.SetMemoryLimit(-1) != 241591910 {
		t.Fatal("initial apply")
	}
	runtime.GOMAXPROCS(4)
	debug.SetMemoryLimit(1 << 30)
	w.tick()
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "536870912\n")
	w.tick()
	w.tick()
	if runtime.GOMAXPROCS(0) != 4 || debug.SetMemoryLimit(-1) != 1<<30 {
		t.Errorf("the watcher overrode the program: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	if n := logs.count(slog.LevelInfo, "set"); n != 2 {
		t.Errorf("%d changes logged, want the first 2: %+v", n, logs.all())
	}
}

// TestWatchMovedAndRemoved: the process moves to another cgroup and its old
// one is removed; the next tick follows.
func TestWatchMovedAndRemoved(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	w := newTestWatcher(t, nil, WithRoot(f.root), quiet(), oldGo())
	w.tick()
	if runtime.GOMAXPROCS(0) != 2 {
		t.Fatal("initial apply")
	}
	f.write("sys/fs/cgroup/pod/other/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/other/memory.max", "536870912\n")
	f.write("proc/self/cgroup", "0::/pod/other\n")
	f.remove("sys/fs/cgroup/pod/app")
	w.tick()
	if runtime.GOMAXPROCS(0) != 3 || debug.SetMemoryLimit(-1) != 483183820 {
		t.Fatalf("after the move: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	if w.snap.CPULimit.Source.Path != "/sys/fs/cgroup/pod/other/cpu.max" {
		t.Errorf("source %s", w.snap.CPULimit.Source)
	}
}

// TestWatchWarnsOnce: a GOMEMLIMIT below the floor is one warning, not one
// per tick, nor one more whenever something else changes; a limit file that
// cannot be read is one warning until it can be read again.
func TestWatchWarnsOnce(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	debug.SetMemoryLimit(3 << 30)
	f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/app/memory.max": "5\n"})
	logs := &logCapture{}
	w := newTestWatcher(t, nil, WithRoot(f.root), logs.option(), oldGo())
	for i := 0; i < 3; i++ {
		w.tick()
	}
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	w.tick()
	w.tick()
	if runtime.GOMAXPROCS(0) != 3 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Errorf("GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	if n := logs.count(slog.LevelWarn, "GOMEMLIMIT not changed"); n != 1 {
		t.Errorf("%d warnings about the floor, want 1: %+v", n, logs.all())
	}

	// A malformed limit: one warning that says what cannot be read, one per
	// setting left as it is; none more while it stays so.
	logs2 := &logCapture{}
	f2 := newFixture(t, nil)
	w2 := newTestWatcher(t, nil, WithRoot(f2.root), logs2.option(), oldGo())
	w2.tick()
	f2.write("sys/fs/cgroup/pod/app/cpu.max", "lots 100000\n")
	for i := 0; i < 3; i++ {
		w2.tick()
	}
	if n := logs2.count(slog.LevelWarn, "cannot read every limit"); n != 1 {
		t.Errorf("%d read warnings, want 1: %+v", n, logs2.all())
	}
	if n := logs2.count(slog.LevelWarn, "GOMAXPROCS not changed"); n != 1 {
		t.Errorf("%d GOMAXPROCS warnings, want 1: %+v", n, logs2.all())
	}
	if runtime.GOMAXPROCS(0) != 2 {
		t.Errorf("an unreadable limit changed GOMAXPROCS to %d", runtime.GOMAXPROCS(0))
	}
	f2.write("sys/fs/cgroup/pod/app/cpu.max", "400000 100000\n")
	w2.tick()
	if runtime.GOMAXPROCS(0) != 4 {
		t.Errorf("after the file was fixed: GOMAXPROCS %d", runtime.GOMAXPROCS(0))
	}
}

// TestWatch runs Watch itself at the shortest interval and follows a
// rewrite of cpu.max and memory.max in a fixture tree. Each change is
// reported with the time of the tick that made it: the lag is measured
// from the write to that tick, which is at most one interval after the
// last tick before the write, plus scheduling.
func TestWatch(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	const interval = MinWatchInterval
	changes := make(chan Decision, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, interval, WithRoot(f.root), quiet(), oldGo(), WithNotify(func(d Decision) { changes <- d }))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	await := func(what string, n int) []Decision {
		t.Helper()
		var got []Decision
		timeout := time.After(10 * time.Second)
		for len(got) < n {
			select {
			case d := <-changes:
				got = append(got, d)
			case <-timeout:
				t.Fatalf("%s: %d of %d changes after 10s: %+v", what, len(got), n, got)
			}
		}
		return got
	}
	await("the first tick", 2)
	if runtime.GOMAXPROCS(0) != 2 || debug.SetMemoryLimit(-1) != 241591910 {
		t.Fatalf("initial apply: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	// Rewrite both files at once, in place, each with one write.
	written := time.Now()
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	f.write("sys/fs/cgroup/pod/app/memory.max", "536870912\n")
	got := await("resize", 2)
	// Slack: scheduling, more under -race.
	limit := 3*interval + 100*time.Millisecond
	for _, d := range got {
		lag := d.At.Sub(written)
		t.Logf("%s %d applied %v after the write (interval %v, bound %v)", d.Setting, d.Value, lag.Round(time.Millisecond), interval, limit)
		if lag > limit {
			t.Errorf("%s applied %v after the write, more than %v", d.Setting, lag, limit)
		}
	}
	if runtime.GOMAXPROCS(0) != 3 || debug.SetMemoryLimit(-1) != 483183820 {
		t.Errorf("after the resize: GOMAXPROCS %d GOMEMLIMIT %d", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
}

// TestWatchIntervalFloor: an interval below MinWatchInterval is raised to
// it, with one warning, from Watch, Start and RIGHTSIZE_WATCH_INTERVAL.
func TestWatchIntervalFloor(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, nil)
	w := newTestWatcher(t, nil, WithRoot(f.root), quiet())
	for d, want := range map[time.Duration]time.Duration{1: MinWatchInterval, MinWatchInterval - 1: MinWatchInterval, MinWatchInterval: MinWatchInterval, time.Second: time.Second} {
		if got := w.floor(d); got != want {
			t.Errorf("floor(%v) = %v, want %v", d, got, want)
		}
	}

	logs := &logCapture{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = Watch(ctx, time.Nanosecond, WithRoot(f.root), logs.option(), oldGo())
	}()
	// Let it tick a few times: at 1ns it would tick without pause.
	deadline := time.Now().Add(3 * MinWatchInterval)
	for time.Now().Before(deadline) && logs.count(slog.LevelWarn, "watch interval") == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(2 * MinWatchInterval)
	cancel()
	wg.Wait()
	checkFloorWarning(t, "Watch(1ns)", logs)

	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"Start WithInterval(1ns)", []Option{WithInterval(time.Nanosecond)}},
		{"RIGHTSIZE_WATCH_INTERVAL=1ns", []Option{WithEnvConfig(), WithEnviron([]string{EnvWatchInterval + "=1ns"})}},
	} {
		logs := &logCapture{}
		_, tuner, err := Start(append([]Option{WithRoot(f.root), logs.option(), oldGo()}, tt.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * MinWatchInterval)
		tuner.Undo()
		checkFloorWarning(t, tt.name, logs)
	}
}

func checkFloorWarning(t *testing.T, what string, logs *logCapture) {
	t.Helper()
	warns := logs.find(slog.LevelWarn, "watch interval raised to the floor")
	if len(warns) != 1 || warns[0].Attrs["asked"] != "1ns" || warns[0].Attrs["interval"] != MinWatchInterval.String() {
		t.Errorf("%s: want one floor warning, got %+v", what, logs.all())
	}
}

// TestWatchTickAllocs: a tick in which nothing changed allocates nothing.
func TestWatchTickAllocs(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, nil)
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"fixture", []Option{WithRoot(f.root), quiet(), oldGo()}},
		{"fixture, below the floor", []Option{WithRoot(f.root), quiet(), oldGo(), WithMemoryReserve(256<<20 - 1)}},
		{"live", []Option{quiet()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "live" && runtime.GOOS != "linux" {
				t.Skip("no cgroups here")
			}
			w := newTestWatcher(t, nil, tt.opts...)
			w.tick()
			w.tick()
			if n := testing.AllocsPerRun(200, w.tick); n != 0 {
				t.Errorf("%v allocations per tick when nothing changed, want 0", n)
			}
		})
	}
}

func BenchmarkWatchTick(b *testing.B) {
	saveRuntime(b)
	w := newTestWatcher(b, nil, quiet())
	w.tick()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.tick()
	}
}
