// Package rightsize sets GOMAXPROCS and GOMEMLIMIT to fit the container a
// program runs in, at start and again whenever the limits change (for
// example a Kubernetes in-place pod resize). Import it for its side effect:
//
//	import _ "github.com/rightsize/rightsize"
//
// Its init reads the cgroup limits that the kernel enforces on the process
// (the smallest over its cgroup and every ancestor), sets GOMAXPROCS from
// the CPU limit and GOMEMLIMIT from the memory limit (see package
// runtimeinfo for the policies), and, when a CPU or memory limit exists,
// starts a goroutine that re-reads the limits every second through an open
// handle (no allocation per tick) and follows changes. On a machine without
// cgroups, or on another OS, it does nothing and prints nothing. It never
// panics and never exits the program.
//
// Logging goes through log/slog's default logger: nothing when nothing
// changed; one line when something was set, saying what, from which file
// and why; then one line per change the watcher makes. The decisions are
// also available as data from [Result].
//
// # Environment variables
//
//	RIGHTSIZE=off                    disable the blank import entirely
//	RIGHTSIZE_LOG=off                silence its log lines
//	RIGHTSIZE_CPU_POLICY=ceil        GOMAXPROCS policy: ceil, floor or runtime
//	RIGHTSIZE_MIN_PROCS=1            smallest GOMAXPROCS to set
//	RIGHTSIZE_MEMORY_RATIO=0.9       GOMEMLIMIT = ratio × memory limit
//	RIGHTSIZE_MEMORY_RESERVE_BYTES=N GOMEMLIMIT = memory limit − N instead
//	RIGHTSIZE_WATCH_INTERVAL=1s      watcher interval; "off" or 0: no watcher
//	RIGHTSIZE_GOMAXPROCS=off         leave GOMAXPROCS alone
//	RIGHTSIZE_GOMEMLIMIT=off         leave GOMEMLIMIT alone
//
// An invalid value is reported in one warning line and the default is used.
// GOMAXPROCS and GOMEMLIMIT set in the environment always win: rightsize
// leaves that setting alone. The Downward API variables
// RIGHTSIZE_CPU_LIMIT_MILLIS, RIGHTSIZE_CPU_REQUEST_MILLIS,
// RIGHTSIZE_MEMORY_LIMIT_BYTES and RIGHTSIZE_MEMORY_REQUEST_BYTES are used
// where the cgroup shows no limit (see package runtimeinfo).
//
// The default CPU policy (ceil, minimum 1) was chosen by the measurement in
// bench/ (see bench/README.md); it is the one constant
// runtimeinfo.DefaultCPUPolicy.
//
// # Go versions
//
// Go 1.25+ sets a container-aware default GOMAXPROCS itself (leaf cgroup
// only, rounded up, minimum 2, re-read about every second) unless GODEBUG
// containermaxprocs=0 or the main module's go line is below 1.25. Where
// rightsize's value equals that default it leaves the runtime in charge (any
// runtime.GOMAXPROCS(n) call would switch the runtime's updates off); where
// the hierarchy or the policy gives another value it sets it and keeps
// following the limit itself. On older Go the runtime knows no cgroups and
// rightsize does all of it.
//
// # automaxprocs and automemlimit
//
// go.uber.org/automaxprocs sets GOMAXPROCS (floor of the leaf limit,
// minimum 1) and github.com/KimMachineGun/automemlimit sets GOMEMLIMIT
// (90% of the limit) in their own init functions, once. Imported together
// with rightsize, all of them act at init and the one initialised last wins
// (package initialisation order, which follows imports); if rightsize runs
// after one of them it overrides that value, and if it runs first, its
// watcher sees a value it did not set and leaves that setting alone from
// then on. Neither follows a resize. To migrate, remove the import of
// automaxprocs (for its floor rounding, set RIGHTSIZE_CPU_POLICY=floor) and
// of automemlimit (its AUTOMEMLIMIT ratio becomes RIGHTSIZE_MEMORY_RATIO),
// and add the blank import of rightsize.
package rightsize

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

var state struct {
	mu      sync.Mutex
	have    bool
	result  runtimeinfo.Result
	changes []runtimeinfo.Decision
	undo    func()
	cancel  context.CancelFunc
	done    chan struct{}
}

// maxChanges bounds the history kept for Result.
const maxChanges = 32

func init() { start(os.Environ()) }

// settings is the configuration read from RIGHTSIZE_* variables.
type settings struct {
	off      bool
	logOff   bool
	interval time.Duration
	opts     []runtimeinfo.Option
	warnings []string
}

func settingsFromEnv(env []string) settings {
	s := settings{interval: runtimeinfo.DefaultWatchInterval}
	get := func(k string) (string, bool) {
		v, ok := procfs.Getenv(env, k)
		return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	isOff := runtimeinfo.IsOff
	warn := func(k, v, why string) {
		s.warnings = append(s.warnings, k+"="+strconv.Quote(v)+": "+why+"; default used")
	}
	if v, ok := get("RIGHTSIZE"); ok && isOff(v) {
		s.off = true
		return s
	}
	if v, ok := get("RIGHTSIZE_LOG"); ok && isOff(v) {
		s.logOff = true
	}
	opts, warnings := runtimeinfo.OptionsFromEnv(env)
	s.opts = append(s.opts, opts...)
	s.warnings = append(s.warnings, warnings...)
	if v, ok := get("RIGHTSIZE_WATCH_INTERVAL"); ok {
		if isOff(v) {
			s.interval = 0
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			s.interval = d
		} else {
			warn("RIGHTSIZE_WATCH_INTERVAL", v, "want a duration such as 1s, or off")
		}
	}
	return s
}

// start is init's body; the tests call it too.
func start(env []string) {
	defer func() { _ = recover() }() // a blank import never crashes the program
	s := settingsFromEnv(env)
	if s.off {
		return
	}
	var logger *slog.Logger
	if !s.logOff {
		logger = slog.Default()
	}
	for _, w := range s.warnings {
		if logger != nil {
			logger.Warn("rightsize: " + w)
		}
	}
	opts := append([]runtimeinfo.Option{runtimeinfo.WithEnviron(env), runtimeinfo.WithLogger(nil)}, s.opts...)
	res, undo, err := runtimeinfo.Tune(opts...)
	if errors.Is(err, cgroup.ErrNotSupported) {
		return
	}
	state.mu.Lock()
	state.have, state.result, state.undo = true, res, undo
	state.mu.Unlock()
	logTuned(logger, res)

	snap := res.Snapshot
	if s.interval <= 0 || (snap.CPULimit == nil && snap.MemoryLimit == nil && snap.MemoryHigh == nil) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	state.mu.Lock()
	state.cancel, state.done = cancel, done
	state.mu.Unlock()
	wopts := append([]runtimeinfo.Option{runtimeinfo.WithEnviron(env), runtimeinfo.WithLogger(logger), runtimeinfo.WithNotify(record)}, s.opts...)
	go func() {
		defer close(done)
		defer func() { _ = recover() }()
		_ = runtimeinfo.Watch(ctx, s.interval, wopts...)
	}()
}

// logTuned writes the one line of init: what was set, from which file, why.
func logTuned(l *slog.Logger, res runtimeinfo.Result) {
	if l == nil {
		return
	}
	var attrs []slog.Attr
	for _, d := range []runtimeinfo.Decision{res.GOMAXPROCS, res.GOMEMLIMIT} {
		if !d.Changed {
			continue
		}
		attrs = append(attrs, slog.Group(d.Setting,
			slog.Int64("value", d.Value), slog.Int64("previous", d.Previous),
			slog.String("source", d.Source.String()), slog.String("reason", d.Reason)))
	}
	if len(attrs) == 0 {
		return
	}
	l.LogAttrs(context.Background(), slog.LevelInfo, "rightsize: tuned the Go runtime", attrs...)
}

func record(d runtimeinfo.Decision) {
	state.mu.Lock()
	defer state.mu.Unlock()
	switch d.Setting {
	case runtimeinfo.GOMAXPROCS:
		state.result.GOMAXPROCS = d
	case runtimeinfo.GOMEMLIMIT:
		state.result.GOMEMLIMIT = d
	}
	if len(state.changes) == maxChanges {
		copy(state.changes, state.changes[1:])
		state.changes = state.changes[:maxChanges-1]
	}
	state.changes = append(state.changes, d)
}

// Result returns the decisions of the blank import: those of init, updated
// with the latest change the watcher made, and the watcher's changes since
// (the last 32). ok is false when init did nothing (RIGHTSIZE=off, or not
// Linux).
func Result() (res runtimeinfo.Result, changes []runtimeinfo.Decision, ok bool) {
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.result, append([]runtimeinfo.Decision(nil), state.changes...), state.have
}

// Stop stops the watcher started by init, if any, and waits for it.
// GOMAXPROCS and GOMEMLIMIT keep their values.
func Stop() {
	state.mu.Lock()
	cancel, done := state.cancel, state.done
	state.cancel, state.done = nil, nil
	state.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Undo stops the watcher and restores GOMAXPROCS and GOMEMLIMIT to what
// they were before init (GOMAXPROCS to the Go runtime's automatic default
// where that was in force), where they still have rightsize's values.
func Undo() {
	Stop()
	state.mu.Lock()
	undo := state.undo
	state.undo = nil
	state.mu.Unlock()
	if undo != nil {
		undo()
	}
}
