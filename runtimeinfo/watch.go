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
// once.
//
// A tick in which nothing changed allocates nothing: it preads the limit
// files and /proc/self/cgroup into fixed buffers and compares numbers. When
// the process was moved to another cgroup (/proc/self/cgroup changed) or its
// cgroup disappeared, Watch discovers the cgroups again. Once the program
// sets GOMAXPROCS or GOMEMLIMIT itself after rightsize did, Watch leaves
// that setting alone. Environment variables (GOMAXPROCS, GOMEMLIMIT and the
// RIGHTSIZE_* Downward API values) are read once, at start.
func Watch(ctx context.Context, interval time.Duration, opts ...Option) error {
	if runtime.GOOS != "linux" {
		return cgroup.ErrNotSupported
	}
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	cfg := newConfig(opts)
	w := newWatcher(&cfg)
	defer w.close()
	w.tick()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
			w.tick()
		}
	}
}

// probe is the cheap, allocation-free reading compared on every tick.
type probe struct {
	cpuOK         bool
	quota, period int64
	setOK         bool
	setN          int
	aff           int
	memOK         bool
	mem           int64
	highOK        bool
	high          int64
	procs         int
	memlimit      int64
	err           bool
}

type watcher struct {
	cfg    *config
	r      *reader
	t      tuner
	last   probe
	primed bool
	broken bool

	lastErr string
}

func newWatcher(cfg *config) *watcher {
	w := &watcher{cfg: cfg, r: newReader(cfg)}
	w.t = tuner{cfg: cfg, r: w.r}
	return w
}

func (w *watcher) close() {
	w.r.close()
}

// moved reports whether the process moved to other cgroups since the
// handle was opened (the handle re-reads /proc/self/cgroup without
// allocating).
func (w *watcher) moved() bool {
	if w.r.g == nil {
		return false
	}
	moved, err := w.r.g.Moved()
	return err == nil && moved
}

// read fills p without allocating when every read succeeds.
func (w *watcher) read(p *probe) {
	p.procs = runtime.GOMAXPROCS(0)
	p.memlimit = debug.SetMemoryLimit(-1)
	if w.r.live {
		p.aff, _ = affinityCPUs()
	}
	g := w.r.g
	if g == nil {
		p.err = true
		return
	}
	var err error
	var cl cgroup.CPULimit
	if cl, p.cpuOK, err = g.CPULimit(); err != nil {
		p.err = true
	}
	p.quota, p.period = cl.Quota, cl.Period
	if p.setN, p.setOK, err = g.CPUSetCPUs(); err != nil {
		p.err = true
	}
	var ml cgroup.MemoryLimit
	if ml, p.memOK, err = g.MemoryLimit(); err != nil {
		p.err = true
	}
	p.mem = ml.Bytes
	if ml, p.highOK, err = g.MemoryHigh(); err != nil {
		p.err = true
	}
	p.high = ml.Bytes
}

func (w *watcher) tick() {
	if w.moved() || w.broken {
		w.r.reopen()
		w.broken = false
		w.primed = false
	}
	var p probe
	w.read(&p)
	if p.err {
		// Discover again on the next tick: the cgroup may have been
		// removed after the process was moved.
		w.broken = true
	}
	if w.primed && p == w.last {
		return
	}
	w.primed = true
	w.last = p
	w.apply()
}

// apply reads the limits with their sources and decides (allocates; only
// when something changed).
func (w *watcher) apply() {
	var errs []error
	s := w.r.snapshot(&errs, false)
	l := limitsFromSnapshot(w.r, &s)
	if msg := errString(errs); msg != w.lastErr {
		w.lastErr = msg
		if msg != "" {
			if lg := w.cfg.log(); lg != nil {
				lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: cannot read every limit", slog.String("error", msg))
			}
		}
	}
	owner.mu.Lock()
	pd, _, _ := w.t.decideProcs(&l)
	md := w.t.decideMem(&l)
	owner.mu.Unlock()
	w.t.report(pd)
	w.t.report(md)
	// The values in force changed by our own hand; do not treat that as
	// a change next tick.
	w.last.procs = runtime.GOMAXPROCS(0)
	w.last.memlimit = debug.SetMemoryLimit(-1)
}

func errString(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	return errors.Join(errs...).Error()
}
