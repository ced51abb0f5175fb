package runtimeinfo

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/reaper"
)

// maxChanges bounds the history a Tuner keeps.
const maxChanges = 32

// Tuner keeps the runtime tuned: it holds the decisions of Start and, while
// its watcher runs, follows the limits. Its methods are safe for concurrent
// use, and on a nil *Tuner they do nothing.
type Tuner struct {
	// handlers are the memory pressure handlers of its watcher.
	handlers *handlers
	// reaper is the zombie reaper Start started (it may do nothing).
	reaper *reaper.Reaper

	mu      sync.Mutex
	result  Result
	changes []Decision
	undo    func()
	loop    *timerLoop // the watcher's; nil when none runs
}

// Start is the one call for a program that does not want the blank import
// of package rightsize, and what that import runs: it reads the limits once
// (one discovery), sets GOMAXPROCS and GOMEMLIMIT like Tune, and, when a CPU
// or memory limit exists and the interval is not 0, starts a watcher on the
// same open handle that follows in-place resizes until Stop. It returns the
// decisions and the Tuner.
//
// Options are Tune's, plus WithInterval (default DefaultWatchInterval) and
// WithEnvConfig (read the RIGHTSIZE_* variables; with RIGHTSIZE=off Start
// does nothing and returns a nil *Tuner, whose methods do nothing). An
// invalid option is an error and nothing is done; an
// error reading a limit is returned too, and the decisions are made from
// what could be read. Outside Linux the error wraps
// cgroup.ErrNotSupported and nothing is done.
func Start(opts ...Option) (Result, *Tuner, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return Result{}, nil, err
	}
	if cfg.off {
		return Result{}, nil, nil
	}
	logWarnings(&cfg)
	t := &Tuner{undo: func() {}}
	if cfg.reaper {
		// It acts only in PID 1 and says why not elsewhere; its error is
		// for invalid options only, which it is not given.
		opts := []reaper.Option{reaper.WithLogger(cfg.log())}
		if cfg.envSet {
			opts = append(opts, reaper.WithEnviron(cfg.env))
		}
		t.reaper, _ = reaper.Start(opts...)
	}
	r := newReader(cfg)
	// One logger for the Tune and the watcher: a warning the Tune logged is
	// not repeated by the watcher while its condition lasts.
	l := logger{cfg: &r.cfg, notify: r.cfg.notify, warned: new([2]string)}
	// The Tuner's own Result is filled in place; the caller gets a copy
	// whose Errors slice is its own.
	t.undo = tuneWith(r, l, &t.result)
	// The copy is taken now: once the watcher runs, it records into
	// t.result under t.mu.
	res := t.result.clone()
	s := &res.Snapshot
	err = s.Err()
	if errors.Is(err, cgroup.ErrNotSupported) || cfg.interval == 0 || !(s.HasCPULimit || s.HasMemoryLimit || s.HasMemoryHigh) {
		r.Close()
		return res, t, err
	}
	// The watcher itself (its snapshot, its runtime/metrics samples) is
	// made at its first tick, an interval after Start: nothing of it
	// weighs on the program's start. Until then it needs the pressure
	// handlers (OnMemoryPressure may add some) and what Tune saw.
	t.handlers = newHandlers(cfg.pressure)
	interval := floorInterval(&r.cfg, cfg.interval)
	last := keyOf(s)
	var w *watcher
	t.mu.Lock()
	defer t.mu.Unlock()
	t.loop = startLoop(interval, func() {
		if w == nil {
			w = newWatcherWith(r, t.record, t.handlers)
			w.log = l
			w.last, w.primed = last, true
		}
		w.tick()
	}, func() { r.Close() })
	return res, t, err
}

// logWarnings logs the configuration's warnings (unusable RIGHTSIZE_*
// values), once.
func logWarnings(c *config) {
	lg := c.log()
	for _, w := range c.warnings {
		if lg != nil {
			lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: "+w)
		}
	}
	c.warnings = nil
}

// record keeps a change the watcher made.
func (t *Tuner) record(d Decision, s *Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch d.Setting {
	case GOMAXPROCS:
		t.result.GOMAXPROCS = d
	case GOMEMLIMIT:
		t.result.GOMEMLIMIT = d
	}
	t.result.Snapshot = s.clone()
	if len(t.changes) == maxChanges {
		copy(t.changes, t.changes[1:])
		t.changes = t.changes[:maxChanges-1]
	}
	t.changes = append(t.changes, d)
}

// Result returns the decisions in force: Start's, updated with the latest
// change of the watcher, and the snapshot they were made from.
func (t *Tuner) Result() Result {
	if t == nil {
		return Result{}
	}
	// The watcher applies and records a change under owner.mu: holding
	// it, the Result matches the settings rightsize put in force.
	owner.mu.Lock()
	defer owner.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.result.clone()
}

// Changes returns the changes the watcher made, oldest first (the last 32).
func (t *Tuner) Changes() []Decision {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Decision(nil), t.changes...)
}

// OnMemoryPressure adds a handler of memory pressure signals to the
// Tuner's watcher (see MemoryPressure) and returns a function that removes
// it. fn runs on the watcher's goroutine and must not block. Without a
// watcher (no memory or CPU limit, interval 0, a nil Tuner) no signal comes
// and remove does nothing.
func (t *Tuner) OnMemoryPressure(fn func(MemoryPressure)) (remove func()) {
	if t == nil || t.handlers == nil || fn == nil {
		return func() {}
	}
	return t.handlers.add(fn)
}

// Stop stops the watcher and the zombie reaper, if any, and waits for
// them. GOMAXPROCS and GOMEMLIMIT keep their values. Stopping again does
// nothing. It must not be called from a WithNotify callback or a memory
// pressure handler, which run inside a tick that Stop would wait for; such
// code calls go t.Stop() instead.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.reaper.Stop()
	t.mu.Lock()
	loop := t.loop
	t.mu.Unlock()
	if loop != nil {
		// Every caller waits: two Stops (or Undos) at once both return
		// after the last tick.
		loop.stop()
	}
}

// timerLoop runs Start's watcher on a timer rather than on a goroutine of
// its own: the watcher adds no goroutine to the program's start (in PID 1
// the zombie reaper has one of its own), and each tick runs on the
// goroutine the timer starts for it.
// The next tick is due an interval after this one ends, so ticks never
// overlap.
type timerLoop struct {
	mu       sync.Mutex
	timer    *time.Timer
	stopped  bool
	running  sync.WaitGroup
	doneOnce sync.Once
	interval time.Duration
	tick     func()
	done     func() // after the last tick: closes the Reader
}

func startLoop(interval time.Duration, tick, done func()) *timerLoop {
	l := &timerLoop{interval: interval, tick: tick, done: done}
	l.mu.Lock()
	l.timer = time.AfterFunc(interval, l.fire)
	l.mu.Unlock()
	return l
}

func (l *timerLoop) fire() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.running.Add(1)
	l.mu.Unlock()
	defer l.running.Done()
	l.tick()
	l.mu.Lock()
	if !l.stopped {
		l.timer.Reset(l.interval)
	}
	l.mu.Unlock()
}

// stop ends the loop: no tick starts after it, it waits for one under way,
// then calls done once; a second stop waits as the first does. It must
// not be called from a tick.
func (l *timerLoop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.timer.Stop()
	l.mu.Unlock()
	l.running.Wait()
	l.doneOnce.Do(l.done)
}

// Undo stops the watcher and restores GOMAXPROCS and GOMEMLIMIT to what
// they were before Start (GOMAXPROCS to the Go runtime's automatic default
// where that was in force), where they still have rightsize's values. Like
// Stop, it must not be called from a callback or handler of the watcher.
func (t *Tuner) Undo() {
	if t == nil {
		return
	}
	t.Stop()
	t.mu.Lock()
	undo := t.undo
	t.undo = func() {}
	t.mu.Unlock()
	undo()
}

// clone copies the snapshot with its own Errors slice (a Reader reuses the
// one it fills).
func (s *Snapshot) clone() Snapshot {
	c := *s
	c.Errors = append([]error(nil), s.Errors...)
	return c
}

// clone copies a Result with an Errors slice of its own. By pointer: a
// Result is over 2 KB, and every copy of it sits on the stack.
func (r *Result) clone() (c Result) {
	c = *r
	c.Snapshot.Errors = append([]error(nil), r.Snapshot.Errors...)
	return c
}
