package runtimeinfo

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rightsize/rightsize/cgroup"
)

// Result holds the decisions of one Tune (or of Start, updated by its
// watcher), and the snapshot they were made from.
type Result struct {
	GOMAXPROCS Decision
	GOMEMLIMIT Decision
	Snapshot   Snapshot
}

// owner records, for the whole process, what rightsize last set, so that a
// value the program set itself afterwards is recognised and left alone.
// The runtime's settings are the process's, so this record is too.
var owner struct {
	mu sync.Mutex
	// procs is the GOMAXPROCS rightsize last set with runtime.GOMAXPROCS;
	// 0 when it set none or handed it back to the runtime.
	procs int64
	// procsOff: the program set its own GOMAXPROCS after rightsize.
	procsOff bool
	// mem is the GOMEMLIMIT rightsize last set; 0 when none. memOrig is
	// the value before rightsize first set it.
	mem     int64
	memOrig int64
	memOff  bool
}

// state reads the runtime's settings and the owner record. owner.mu is held.
func state() runtimeState {
	return runtimeState{
		procs: int64(runtime.GOMAXPROCS(0)), memlimit: debug.SetMemoryLimit(-1),
		ownerProcs: owner.procs, procsOff: owner.procsOff,
		ownerMem: owner.mem, memOrig: owner.memOrig, memOff: owner.memOff,
		canHand: canHandBack, now: time.Now(),
	}
}

// apply carries out a plan and returns the decisions as done. owner.mu is
// held. It is the only code that changes GOMAXPROCS and GOMEMLIMIT.
func apply(p plan) (procs, mem Decision) {
	procs, mem = p.procs.d, p.mem.d
	if p.procs.programSet {
		owner.procsOff = true
	}
	switch p.procs.action {
	case set:
		// The plan never sets the value in force: on Go 1.25+ any
		// runtime.GOMAXPROCS(n) call switches off the runtime's updates.
		if n := p.procs.value; n >= 1 && n <= math.MaxInt32 && n != int64(runtime.GOMAXPROCS(0)) {
			runtime.GOMAXPROCS(int(n))
			owner.procs = n
			procs.Value, procs.Changed = n, true
		}
	case handBack:
		// Before Go 1.25 the runtime's default is the number of CPUs it
		// saw at start (runtime.NumCPU), with no updates; a cpuset may
		// have narrowed it since, which the plan's value (the CPUs usable
		// now) says. Go 1.25+ ignores the number.
		setDefaultGOMAXPROCS(int(min(p.procs.value, int64(runtime.NumCPU()))))
		owner.procs = 0
		procs.Value, procs.Changed = int64(runtime.GOMAXPROCS(0)), true
	}
	if p.mem.programSet {
		owner.memOff = true
	}
	switch p.mem.action {
	case set:
		// The envelope again, at the last moment: never below the floor.
		if n := p.mem.value; n >= MinGOMEMLIMIT {
			if owner.mem == 0 {
				owner.memOrig = debug.SetMemoryLimit(-1)
			}
			debug.SetMemoryLimit(n)
			owner.mem = n
			mem.Value, mem.Changed = n, true
		}
	case restore:
		debug.SetMemoryLimit(p.mem.value)
		owner.mem = 0
		mem.Value, mem.Changed = p.mem.value, true
	}
	return procs, mem
}

// logger logs decisions and warnings, each at most once when asked.
type logger struct {
	cfg    *config
	notify func(Decision)
	// warned holds, per setting (GOMAXPROCS, GOMEMLIMIT), the reason of
	// the warning last logged while that condition lasts, so that a watcher
	// that decides again because something else changed does not repeat
	// it. nil: no memory (a single Tune).
	warned *[2]string
}

func (l logger) decision(d Decision, warn bool) { l.decisionAt(d, warn, false) }

// decisionAt logs a decision; quiet logs a change at debug level (the
// off-heap estimate moving GOMEMLIMIT by less than a tenth).
func (l logger) decisionAt(d Decision, warn, quiet bool) {
	lg := l.cfg.log()
	if l.warned != nil {
		i := 0
		if d.Setting == GOMEMLIMIT {
			i = 1
		}
		switch {
		case !warn:
			l.warned[i] = ""
		case l.warned[i] == d.Reason:
			warn = false
		default:
			l.warned[i] = d.Reason
		}
	}
	switch {
	case d.Changed:
		level := slog.LevelInfo
		if quiet {
			level = slog.LevelDebug
		}
		if lg != nil {
			lg.LogAttrs(context.Background(), level, "rightsize: "+string(d.Setting)+" set", decisionAttrs(d)...)
		}
		if l.notify != nil {
			l.notify(d)
		}
	case warn && lg != nil:
		lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: "+string(d.Setting)+" not changed", decisionAttrs(d)...)
	}
}

// decisionAttrs are the attributes of every log line about a decision, at
// init and from the watcher alike.
func decisionAttrs(d Decision) []slog.Attr {
	return []slog.Attr{
		slog.String("setting", string(d.Setting)),
		slog.Int64("value", d.Value), slog.Int64("previous", d.Previous),
		slog.String("source", d.Source.String()), slog.String("reason", d.Reason),
	}
}

// Tune reads the effective limits once and sets GOMAXPROCS and GOMEMLIMIT
// by the configured policies. It returns every decision as data and an
// undo that restores the previous state: GOMAXPROCS goes back to the Go
// runtime's automatic default (runtime.SetDefaultGOMAXPROCS on Go 1.25+)
// when that is what was in force, to the previous number otherwise;
// GOMEMLIMIT to its previous value. Undo leaves a setting alone that was
// changed by someone else since.
//
// Tune leaves a setting alone when its environment variable (GOMAXPROCS,
// GOMEMLIMIT) is set, when no limit exists (it never sets GOMEMLIMIT from
// host memory alone), when the program set its own value after rightsize
// did, and when the computed value lies outside the safety envelope
// (GOMEMLIMIT below MinGOMEMLIMIT). It never calls runtime.GOMAXPROCS(n)
// with the value in force (on Go 1.25+ that would switch off the runtime's
// own updates), and when its value equals the runtime's container-aware
// default it leaves the runtime in charge.
//
// The error lists what could not be read (the decisions are made from the
// rest), or says an option is invalid (nothing is done). Outside Linux it
// wraps cgroup.ErrNotSupported and nothing is changed.
func Tune(opts ...Option) (Result, func(), error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return Result{}, func() {}, err
	}
	logWarnings(&cfg)
	r := newReader(cfg)
	defer r.Close()
	var res Result
	undo := tuneWith(r, logger{cfg: &r.cfg, notify: r.cfg.notify}, &res)
	return res, undo, res.Snapshot.Err()
}

// tuneWith takes a snapshot with r into res, decides, applies and logs
// with l, and returns the undo. res is the caller's (Start's is the
// Tuner's own): a Result is over 2 KB, and returning copies of it made
// Start's stack frame 12.7 KB (5.6 KB now: locals=0x1688 in
// go build -gcflags=-S ./runtimeinfo, go1.26.8).
func tuneWith(r *Reader, l logger, res *Result) func() {
	r.mu.Lock()
	r.read(&res.Snapshot)
	r.mu.Unlock()
	if errors.Is(res.Snapshot.Err(), cgroup.ErrNotSupported) {
		return func() {}
	}
	if len(res.Snapshot.Errors) > 0 {
		// Say once which files could not be read and why; the decisions
		// below say what that means for each setting.
		if lg := r.cfg.log(); lg != nil {
			lg.LogAttrs(context.Background(), slog.LevelWarn, "rightsize: cannot read every limit", slog.String("error", res.Snapshot.Err().Error()))
		}
	}
	owner.mu.Lock()
	st := state()
	p := decide(&r.cfg, &res.Snapshot, r.env, st)
	res.GOMAXPROCS, res.GOMEMLIMIT = apply(p)
	owner.mu.Unlock()
	l.decision(res.GOMAXPROCS, p.procs.warn)
	l.decision(res.GOMEMLIMIT, p.mem.warn)
	// Undo hands GOMAXPROCS back to the runtime when the runtime's own
	// default was in force before.
	prevDefault := st.ownerProcs == 0 && st.procs == runtimeDefault(&res.Snapshot)
	procs, mem := res.GOMAXPROCS, res.GOMEMLIMIT
	var once sync.Once
	return func() { once.Do(func() { undoTune(procs, mem, prevDefault) }) }
}

// undoTune restores the state from before a Tune (or a Start and its
// watcher) where rightsize's value is still in force: a setting the
// program took over since is left alone.
func undoTune(p, m Decision, prevDefault bool) {
	owner.mu.Lock()
	defer owner.mu.Unlock()
	cur := int64(runtime.GOMAXPROCS(0))
	ours := (owner.procs != 0 && cur == owner.procs) || (owner.procs == 0 && p.Changed && cur == p.Value)
	if ours && !owner.procsOff {
		if prevDefault {
			setDefaultGOMAXPROCS(int(min(p.Previous, math.MaxInt32)))
			owner.procs = 0
		} else if p.Previous != cur && p.Previous >= 1 && p.Previous <= math.MaxInt32 {
			runtime.GOMAXPROCS(int(p.Previous))
			owner.procs = 0
		}
	}
	if owner.mem != 0 && debug.SetMemoryLimit(-1) == owner.mem && !owner.memOff {
		debug.SetMemoryLimit(owner.memOrig)
		owner.mem = 0
	}
}
