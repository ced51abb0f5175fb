package runtimeinfo

import (
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// TestStart: Start tunes at once, its watcher follows a resize in the
// fixture tree, the Tuner reports both, Stop ends the watcher and Undo
// restores what was in force before.
func TestStart(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	noMemLimit()
	f := newFixture(t, nil)
	changes := make(chan Decision, 16)
	logs := &logCapture{}
	res, tuner, err := Start(WithRoot(f.root), logs.option(), oldGo(), WithInterval(MinWatchInterval), WithNotify(func(d Decision) { changes <- d }))
	if err != nil || tuner == nil {
		t.Fatalf("Start: %v %v", err, tuner)
	}
	defer tuner.Undo()
	if !res.GOMAXPROCS.Changed || res.GOMAXPROCS.Value != 2 || res.GOMEMLIMIT.Value != 241591910 || runtime.GOMAXPROCS(0) != 2 {
		t.Fatalf("Start: %+v %+v", res.GOMAXPROCS, res.GOMEMLIMIT)
	}
	if got := tuner.Result(); got.GOMAXPROCS != res.GOMAXPROCS || got.GOMEMLIMIT != res.GOMEMLIMIT || got.Snapshot.Root != f.root {
		t.Errorf("Tuner.Result %+v", got)
	}
	if len(tuner.Changes()) != 0 {
		t.Errorf("changes before any resize: %+v", tuner.Changes())
	}
	for i := 0; i < 2; i++ {
		<-changes // Start's own
	}

	written := time.Now()
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	var d Decision
	select {
	case d = <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not follow the resize")
	}
	t.Logf("followed %v after the write", d.At.Sub(written).Round(time.Millisecond))
	if d.Setting != GOMAXPROCS || d.Value != 3 || d.Previous != 2 || runtime.GOMAXPROCS(0) != 3 {
		t.Errorf("change %+v", d)
	}
	got := tuner.Result()
	if got.GOMAXPROCS.Value != 3 || got.GOMEMLIMIT != res.GOMEMLIMIT || got.Snapshot.CPULimit.CPUs != 3 {
		t.Errorf("Tuner.Result after the change: %+v", got)
	}
	if ch := tuner.Changes(); len(ch) != 1 || ch[0].Value != 3 {
		t.Errorf("Tuner.Changes %+v", ch)
	}
	// The caller's copies are its own.
	got.Snapshot.Errors = append(got.Snapshot.Errors, nil)
	if len(tuner.Result().Snapshot.Errors) != 0 {
		t.Error("Result shares its Errors slice")
	}

	tuner.Stop()
	tuner.Stop() // again: nothing
	if runtime.GOMAXPROCS(0) != 3 {
		t.Errorf("Stop changed GOMAXPROCS to %d", runtime.GOMAXPROCS(0))
	}
	tuner.Undo()
	tuner.Undo()
	if runtime.GOMAXPROCS(0) != 5 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("after Undo: GOMAXPROCS %d GOMEMLIMIT %d, want 5 and no limit", runtime.GOMAXPROCS(0), debug.SetMemoryLimit(-1))
	}
	if n := logs.count(slog.LevelInfo, " set"); n != 3 {
		t.Errorf("%d change lines, want 3: %+v", n, logs.all())
	}
}

// TestStartNoWatcher: no watcher without a limit, or with interval 0.
func TestStartNoWatcher(t *testing.T) {
	saveRuntime(t)
	f := newFixture(t, map[string]string{
		"sys/fs/cgroup/pod/app/cpu.max":    "max 100000\n",
		"sys/fs/cgroup/pod/app/memory.max": "max\n",
	})
	_, tuner, err := Start(WithRoot(f.root), quiet())
	if err != nil || tuner == nil || tuner.loop != nil {
		t.Errorf("no limit: err %v, watcher %v", err, tuner != nil && tuner.loop != nil)
	}
	tuner.Undo()
	f = newFixture(t, nil)
	_, tuner, err = Start(WithRoot(f.root), quiet(), WithInterval(0))
	if err != nil || tuner == nil || tuner.loop != nil {
		t.Errorf("interval 0: err %v, watcher %v", err, tuner != nil && tuner.loop != nil)
	}
	tuner.Undo()
}

// TestStartWarnsOnce: a warning of Start's Tune is not repeated by its
// watcher when another input changes.
func TestStartWarnsOnce(t *testing.T) {
	saveRuntime(t)
	runtime.GOMAXPROCS(5)
	debug.SetMemoryLimit(3 << 30)
	f := newFixture(t, map[string]string{"sys/fs/cgroup/pod/app/memory.max": "5\n"})
	changes := make(chan Decision, 16)
	logs := &logCapture{}
	_, tuner, err := Start(WithRoot(f.root), logs.option(), oldGo(), WithInterval(MinWatchInterval), WithNotify(func(d Decision) { changes <- d }))
	if err != nil {
		t.Fatal(err)
	}
	defer tuner.Undo()
	<-changes // GOMAXPROCS 2
	f.write("sys/fs/cgroup/pod/app/cpu.max", "300000 100000\n")
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not follow the resize")
	}
	tuner.Stop()
	if n := logs.count(slog.LevelWarn, "GOMEMLIMIT not changed"); n != 1 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Errorf("%d floor warnings, want 1 (GOMEMLIMIT %d): %+v", n, debug.SetMemoryLimit(-1), logs.all())
	}
}

// TestTunerChangesBounded: the Tuner keeps the last 32 changes.
func TestTunerChangesBounded(t *testing.T) {
	var tu Tuner
	s := &Snapshot{Root: "x", Errors: make([]error, 0, 4)}
	for i := 1; i <= 40; i++ {
		tu.record(Decision{Setting: GOMAXPROCS, Value: int64(i)}, s)
	}
	ch := tu.Changes()
	if len(ch) != maxChanges || ch[0].Value != 9 || ch[len(ch)-1].Value != 40 || tu.Result().GOMAXPROCS.Value != 40 {
		t.Errorf("changes %d, first %d, last %d", len(ch), ch[0].Value, ch[len(ch)-1].Value)
	}
}

// TestTimerLoop: ticks never overlap, none starts after stop, stop waits
// for the one under way and then calls done once.
func TestTimerLoop(t *testing.T) {
	var (
		mu            sync.Mutex
		ticks, inside int
		overlap       bool
		doneCalls     int
	)
	started := make(chan struct{}, 100)
	release := make(chan struct{})
	l := startLoop(time.Millisecond, func() {
		mu.Lock()
		inside++
		overlap = overlap || inside > 1
		ticks++
		n := ticks
		mu.Unlock()
		started <- struct{}{}
		if n == 3 {
			<-release // hold the third tick while stop is called
		}
		mu.Lock()
		inside--
		mu.Unlock()
	}, func() {
		mu.Lock()
		doneCalls++
		mu.Unlock()
	})
	for i := 0; i < 3; i++ {
		<-started
	}
	// Two stops at once (Stop and Undo from two goroutines): neither
	// returns while the tick is under way.
	stopped, stopped2 := make(chan struct{}), make(chan struct{})
	go func() { l.stop(); close(stopped) }()
	go func() { l.stop(); close(stopped2) }()
	select {
	case <-stopped:
		t.Fatal("stop returned while a tick was under way")
	case <-stopped2:
		t.Fatal("the second stop returned while a tick was under way")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-stopped
	<-stopped2
	l.stop() // again: nothing
	mu.Lock()
	n := ticks
	mu.Unlock()
	time.Sleep(20 * time.Millisecond) // twenty intervals: no tick may come
	mu.Lock()
	defer mu.Unlock()
	if ticks != n || overlap || doneCalls != 1 || inside != 0 {
		t.Errorf("ticks %d then %d, overlap %v, done called %d times, inside %d", n, ticks, overlap, doneCalls, inside)
	}
}

// TestTunerResultWhileWatching: Result and Changes read what the watcher's
// ticks write (each applied change is recorded in the Tuner). Under -race,
// a Result or Changes without its locks is reported here: a reader
// goroutine calls them without pause while the CPU limit changes six
// times and each change is applied and recorded.
func TestTunerResultWhileWatching(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil)
	cpu := openRW(t, filepath.Join(f.root, "sys/fs/cgroup/pod/app/cpu.max"))
	_, tuner, err := Start(WithRoot(f.root), quiet(), oldGo(), WithInterval(MinWatchInterval))
	if err != nil || tuner == nil {
		t.Fatalf("Start: %v", err)
	}
	defer tuner.Undo()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if r := tuner.Result(); r.GOMAXPROCS.Reason == "" {
				t.Error("Result without a reason")
				return
			}
			_ = tuner.Changes()
		}
	}()
	for i := 0; i < 6; i++ {
		before := len(tuner.Changes())
		if _, err := cpu.WriteAt([]byte([]string{"100000 100000\n", "300000 100000\n"}[i%2]), 0); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(tuner.Changes()) == before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if len(tuner.Changes()) == before {
			t.Fatalf("change %d: the watcher recorded nothing within 5 s", i)
		}
	}
	close(stop)
	<-done
}
