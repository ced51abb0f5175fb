package runtimeinfo

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse drives every entry point that reads or changes the
// process's runtime settings at the same time, on the one process state
// they share (GOMAXPROCS, GOMEMLIMIT and the owner record of what rightsize
// set, which owner.mu guards):
//
//   - a Watch at the shortest interval on a fixture tree whose cpu.max and
//     memory.max another goroutine keeps rewriting in place;
//   - a second watcher of the same kind ticking without pause, so that
//     decisions are applied far more often than every 100 ms;
//   - goroutines that Tune (with differing options) and call its undo;
//   - goroutines that Start (with and without a watcher), read the Tuner's
//     Result and Changes, and Stop or Undo it;
//   - goroutines that Read and Recommend through one shared Reader, and
//     Recommend through their own;
//   - a checker that, holding owner.mu, verifies that the owner record
//     agrees with the settings in force and that both lie in the safety
//     envelope.
//
// Nothing in the test itself orders these goroutines (they share no lock,
// channel or atomic while they run, and log to nowhere), so under -race
// an access to owner or to a Reader that owner.mu or Reader.mu did not
// guard is reported as a DATA RACE: removing owner.mu's Lock/Unlock from
// tune.go, watch.go and recommend.go makes this test fail under -race.
func TestConcurrentUse(t *testing.T) {
	saveRuntime(t)
	noMemLimit()
	f := newFixture(t, nil)
	// One layout for every option set: 8 CPUs allowed, limits rewritten
	// below. oldGo: never hand GOMAXPROCS back while a limit exists (that
	// would ask the real runtime for its default, which is fine but not
	// what is being tested).
	base := []Option{WithRoot(f.root), WithLogger(nil), oldGo()}
	opts := func(extra ...Option) []Option { return append(append([]Option(nil), base...), extra...) }

	ctx, cancel := context.WithCancel(context.Background())
	var bounded, endless sync.WaitGroup
	errs := make(chan error, 256)
	fail := func(format string, args ...any) {
		select {
		case errs <- fmt.Errorf(format, args...):
		default:
		}
	}
	// run starts a goroutine that ends by itself (wg = &bounded) or when
	// ctx is done (wg = &endless).
	run := func(wg *sync.WaitGroup, fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}

	// The writer: one write of the same length each time, as the kernel's
	// files change: never empty, never truncated.
	cpuFile := openRW(t, filepath.Join(f.root, "sys/fs/cgroup/pod/app/cpu.max"))
	memFile := openRW(t, filepath.Join(f.root, "sys/fs/cgroup/pod/app/memory.max"))
	run(&endless, func() {
		for i := 0; ctx.Err() == nil; i++ {
			if _, err := cpuFile.WriteAt([]byte(fmt.Sprintf("%d 100000\n", 100000*(1+i%3))), 0); err != nil {
				fail("write cpu.max: %v", err)
				return
			}
			if _, err := memFile.WriteAt([]byte([]string{"268435456\n", "536870912\n"}[i%2]), 0); err != nil {
				fail("write memory.max: %v", err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})

	run(&endless, func() {
		if err := Watch(ctx, MinWatchInterval, opts()...); err != nil {
			fail("Watch: %v", err)
		}
	})
	tickReader := newReader(*mustConfig(t, opts()...))
	run(&endless, func() {
		defer tickReader.Close()
		w := newWatcher(tickReader, nil)
		for ctx.Err() == nil {
			w.tick()
		}
	})

	const rounds = 40
	for g := 0; g < 3; g++ {
		g := g
		run(&bounded, func() {
			for i := 0; i < rounds && ctx.Err() == nil; i++ {
				_, undo, err := Tune(opts(WithMinProcs(1+(g+i)%4), WithMemoryRatio([]float64{0.5, 0.9, 1}[i%3]))...)
				if err != nil {
					fail("Tune: %v", err)
					return
				}
				undo()
			}
		})
	}
	for g := 0; g < 2; g++ {
		g := g
		run(&bounded, func() {
			for i := 0; i < rounds/4 && ctx.Err() == nil; i++ {
				interval := MinWatchInterval
				if i%2 == 1 {
					interval = 0
				}
				_, tuner, err := Start(opts(WithInterval(interval), WithCPUPolicy([]CPUPolicy{PolicyCeil, PolicyFloor}[g]))...)
				if err != nil || tuner == nil {
					fail("Start: %v", err)
					return
				}
				// Long enough (30 × 5 ms) to span the watcher's first
				// ticks, which record the changes the writer causes:
				// Result and Changes then read what a tick writes.
				for j := 0; j < 30; j++ {
					res := tuner.Result()
					if res.GOMAXPROCS.Reason == "" || res.GOMEMLIMIT.Reason == "" {
						fail("Tuner.Result without reasons: %+v", res)
					}
					_ = tuner.Changes()
					time.Sleep(5 * time.Millisecond)
				}
				if (g+i)%2 == 0 {
					tuner.Stop()
				}
				tuner.Undo()
			}
		})
	}
	shared, err := NewReader(opts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	for g := 0; g < 3; g++ {
		run(&bounded, func() {
			var s Snapshot
			for i := 0; i < rounds*3 && ctx.Err() == nil; i++ {
				if err := shared.Read(&s); err != nil {
					fail("Read: %v", err)
					return
				}
				if !s.HasCPULimit || s.CPULimit.CPUs < 1 || s.CPULimit.CPUs > 3 {
					fail("snapshot CPU limit %+v", s.CPULimit)
					return
				}
				p, m := shared.Recommend(&s)
				if p.Want < 1 || p.Want > 3 || m.Want < MinGOMEMLIMIT {
					fail("recommendation %d, %d", p.Want, m.Want)
				}
				if i%10 == 0 {
					if _, err := Recommend(opts()...); err != nil {
						fail("Recommend: %v", err)
					}
				}
			}
		})
	}
	run(&endless, func() {
		for ctx.Err() == nil {
			owner.mu.Lock()
			procs, mem := int64(runtime.GOMAXPROCS(0)), debug.SetMemoryLimit(-1)
			o := struct {
				procs, mem     int64
				procsOff, memO bool
			}{owner.procs, owner.mem, owner.procsOff, owner.memOff}
			owner.mu.Unlock()
			// Every change goes through apply or undo under owner.mu,
			// which keep the record equal to the value in force (or 0);
			// nobody else changes the settings during the test.
			if (o.procs != 0 && o.procs != procs) || (o.mem != 0 && o.mem != mem) || o.procsOff || o.memO {
				fail("owner %+v disagrees with GOMAXPROCS %d GOMEMLIMIT %d", o, procs, mem)
			}
			if procs < 1 || procs > 8 || (mem != math.MaxInt64 && (mem < MinGOMEMLIMIT || mem > 536870912)) {
				fail("outside the envelope: GOMAXPROCS %d GOMEMLIMIT %d", procs, mem)
			}
			time.Sleep(100 * time.Microsecond)
		}
	})

	// The Tune, Start and Read goroutines end by themselves; then the
	// others are stopped.
	timeout := time.AfterFunc(2*time.Minute, func() { fail("timed out"); cancel() })
	bounded.Wait()
	cancel()
	timeout.Stop()
	endless.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func openRW(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
