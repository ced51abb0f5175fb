package runtimeinfo

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/rightsize/rightsize/cgroup"
)

// Watch applies the limits like Tune, then re-reads them every interval
// through the open cgroup handle and re-applies them when they change (an
// in-place resize), logging one line per change. It runs until ctx is done
// and then returns nil; outside Linux it returns cgroup.ErrNotSupported at
// once, and an invalid option is an error at once. An interval of 0 or
// less means DefaultWatchInterval; one below MinWatchInterval is raised to
// it, with one warning.
//
// A tick in which nothing changed allocates nothing: it preads the limit
// files and /proc/self/cgroup into fixed buffers and compares numbers, and
// the decision is made from that same snapshot. When the process was moved
// to another cgroup or its cgroup disappeared, the next tick discovers the
// cgroups again. Once the program sets GOMAXPROCS or GOMEMLIMIT itself
// after rightsize did, Watch leaves that setting alone. Environment
// variables are read once, at start.
func Watch(ctx context.Context, interval time.Duration, opts ...Option) error {
	cfg, err := newConfig(opts)
	if err != nil {
		return err
	}
	if runtime.GOOS != "linux" {
		return cgroup.ErrNotSupported
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	logWarnings(&cfg)
	r := newReader(cfg)
	defer r.Close()
	w := newWatcher(r, nil)
	w.run(ctx, w.floor(interval))
	return nil
}

// watchKey is what a tick compares with the previous one: every input of
// the decisions, and the values in force.
type watchKey struct {
	hasCPU, hasLeaf, hasMem, hasHigh, hasHost bool
	offHeapMiB                                int64 // the off-heap estimate, in MiB steps
	quota, period, leafQuota, leafPeriod      time.Duration
	cpus, mem, high, host                     int64
	cpuErr, memErr                            bool
	nerr                                      int
	procs, memlimit                           int64
}

func keyOf(s *Snapshot) watchKey {
	return watchKey{
		hasCPU: s.HasCPULimit, hasLeaf: s.HasLeafCPULimit, hasMem: s.HasMemoryLimit, hasHigh: s.HasMemoryHigh, hasHost: s.HasHostMemory,
		quota: s.CPULimit.Quota, period: s.CPULimit.Period, leafQuota: s.LeafCPULimit.Quota, leafPeriod: s.LeafCPULimit.Period,
		cpus: s.CPUs.N, mem: s.MemoryLimit.Bytes, high: s.MemoryHigh.Bytes, host: s.HostMemory.Bytes,
		cpuErr: s.cpuErr, memErr: s.memErr, nerr: len(s.Errors),
		procs: int64(runtime.GOMAXPROCS(0)), memlimit: debug.SetMemoryLimit(-1),
	}
}

type watcher struct {
	r      *Reader
	snap   Snapshot
	last   watchKey
	primed bool
	log    logger
	// Memory beyond the Go heap: the runtime's own memory, the smoothed
	// estimate, and the pressure detector with its handlers (the Tuner's,
	// which may grow while the watcher runs).
	gomem    *goMemory
	off      offHeap
	press    pressureState
	pin      pressureInput
	handlers *handlers
	fire     func(MemoryPressure)
	// changed is called with each applied decision and the snapshot it
	// came from (Start's Tuner records them).
	changed func(Decision, *Snapshot)
}

func newWatcher(r *Reader, changed func(Decision, *Snapshot)) *watcher {
	return newWatcherWith(r, changed, newHandlers(r.cfg.pressure))
}

// newWatcherWith makes a watcher with the pressure handlers h (a Tuner
// hands out h before its watcher exists).
func newWatcherWith(r *Reader, changed func(Decision, *Snapshot), h *handlers) *watcher {
	w := &watcher{r: r, changed: changed, gomem: newGoMemory(), handlers: h}
	w.fire = w.handlers.fire
	w.log = logger{cfg: &r.cfg, notify: r.cfg.notify, warned: new([2]string)}
	return w
}

// floor raises an interval below MinWatchInterval to it, with one warning.
func (w *watcher) floor(d time.Duration) time.Duration { return floorInterval(&w.r.cfg, d) }

func floorInterval(c *config, d time.Duration) time.Duration {
	if d >= MinWatchInterval {
		return d
	}
	if lg := c.log(); lg != nil {
		lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: watch interval raised to the floor",
			slog.Duration("asked", d), slog.Duration("interval", MinWatchInterval))
	}
	return MinWatchInterval
}

func (w *watcher) run(ctx context.Context, interval time.Duration) {
	if !w.primed {
		// Watch's first decision is made at once; Start's was made by
		// its Tune, from the snapshot the watcher is primed with.
		w.tick()
	}
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			w.tick()
		}
	}
}

// tick reads, compares and, when something changed, decides from that
// same snapshot and applies.
func (w *watcher) tick() {
	cfg := &w.r.cfg
	w.r.mu.Lock()
	closed := w.r.closed
	s := &w.snap
	offHeap := false
	if !closed {
		w.r.read(s)
		offHeap = cfg.offHeap && cfg.doMem && (s.HasMemoryLimit || s.HasMemoryHigh)
		if offHeap || w.handlers.any() {
			w.r.readMemoryStats(s)
		}
	}
	w.r.mu.Unlock()
	if closed {
		return
	}
	now := time.Now()
	var est int64
	hasEst := false
	handlers := w.handlers.any()
	if offHeap || handlers {
		w.gomem.read()
	}
	if offHeap {
		if charged, ok := chargedUnreclaimable(&s.Stats.Memory); ok {
			est, hasEst = w.off.update(charged, w.gomem.held(), now), true
		} else if w.off.primed {
			// One failed read of memory.stat keeps the room the last
			// estimate made, rather than raise GOMEMLIMIT for a tick.
			est, hasEst = int64(w.off.est), true
		}
	}
	if handlers {
		pressureInputOf(&w.pin, s, cfg, now)
		if live, limit, ok := w.gomem.heap(); ok {
			w.pin.hasHeap, w.pin.heapLive, w.pin.gomemlimit = true, live, limit
		}
		w.press.observe(&w.pin, w.fire)
	}
	k := keyOf(s)
	k.offHeapMiB = est >> 20
	if w.primed && k == w.last {
		return
	}
	if k.nerr != w.last.nerr || !w.primed {
		if len(w.snap.Errors) > 0 && !errors.Is(w.snap.Err(), cgroup.ErrNotSupported) {
			if lg := w.r.cfg.log(); lg != nil {
				lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: cannot read every limit", slog.String("error", w.snap.Err().Error()))
			}
		}
	}
	w.primed = true
	owner.mu.Lock()
	st := state()
	st.hasOffHeap, st.offHeap = hasEst, est
	// The off-heap estimate moves a little at most ticks: decide quietly
	// first, and build the reasons only for a plan that acts or warns.
	st.quiet = true
	p := decide(cfg, s, w.r.env, st)
	if p.acts() {
		st.quiet = false
		p = decide(cfg, s, w.r.env, st)
	}
	pd, md := apply(p)
	// Recorded with the runtime's settings, under the same lock
	// (Tuner.Result takes it too): a Result never lags the values the
	// runtime has, and a WithNotify callback that asks for it sees the
	// change.
	if w.changed != nil {
		for _, d := range [...]Decision{pd, md} {
			if d.Changed {
				w.changed(d, s)
			}
		}
	}
	owner.mu.Unlock()
	for _, x := range [...]struct {
		d     Decision
		warn  bool
		quiet bool
	}{{pd, p.procs.warn, false}, {md, p.mem.warn, p.mem.offHeap && absDiff(md.Value, md.Previous) < md.Previous/10}} {
		w.log.decisionAt(x.d, x.warn, x.quiet)
	}
	// The values in force changed by our own hand: not a change next tick.
	w.last = keyOf(s)
	w.last.offHeapMiB = k.offHeapMiB
}
