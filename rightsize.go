// Package rightsize sets GOMAXPROCS and GOMEMLIMIT to fit the container a
// program runs in, at start and again whenever the limits change (for
// example a Kubernetes in-place pod resize). Import it for its side effect:
//
//	import _ "github.com/rightsize/rightsize"
//
// Its init is runtimeinfo.Start with the RIGHTSIZE_* settings of the
// environment: it reads the cgroup limits the kernel enforces on the process
// (the smallest over its cgroup and every ancestor), sets GOMAXPROCS from the
// CPU limit and GOMEMLIMIT from the memory limit (see package runtimeinfo for
// the policies and the safety envelope every value stays within), and, when a
// CPU or memory limit exists, arms a timer that re-reads the limits
// every second through an open handle (no allocation per tick), follows
// changes, leaves GOMEMLIMIT room for memory the Go runtime does not manage,
// and can tell the program when memory gets tight ([OnMemoryPressure]). In
// PID 1 of a container it also reaps orphaned zombie processes without
// taking exit statuses from os/exec (package reaper). On a machine without
// cgroups, or on another OS, it does nothing and prints nothing. It never
// panics and never exits the program, whatever the files it reads hold.
//
// Logging goes through log/slog's default logger: nothing when nothing
// changed; one line per setting changed, saying what, from which file and
// why, at init and at each change the watcher makes, with the same
// attributes. The decisions are also available as data from [Result].
//
// # Environment variables
//
//	RIGHTSIZE=off                    disable the blank import entirely
//	RIGHTSIZE_LOG=off                silence its log lines
//	RIGHTSIZE_CPU_POLICY=ceil        GOMAXPROCS policy: ceil, floor or runtime
//	RIGHTSIZE_MIN_PROCS=1            smallest GOMAXPROCS to set
//	RIGHTSIZE_MEMORY_RATIO=0.9       GOMEMLIMIT = ratio × memory limit
//	RIGHTSIZE_MEMORY_RESERVE_BYTES=N GOMEMLIMIT = memory limit − N instead
//	RIGHTSIZE_OFFHEAP=off            keep GOMEMLIMIT static (no room for memory beyond the Go heap)
//	RIGHTSIZE_WATCH_INTERVAL=1s      watcher interval (at least 100ms); "off": no watcher
//	RIGHTSIZE_GOMAXPROCS=off         leave GOMAXPROCS alone
//	RIGHTSIZE_GOMEMLIMIT=off         leave GOMEMLIMIT alone
//	RIGHTSIZE_REAPER=off             no zombie reaper in PID 1 (all: reap every zombie child)
//
// An unusable value is reported in one warning line and the default is used.
// GOMAXPROCS and GOMEMLIMIT set in the environment always win: rightsize
// leaves that setting alone. The Downward API variables
// RIGHTSIZE_CPU_LIMIT_MILLIS, RIGHTSIZE_CPU_REQUEST_MILLIS,
// RIGHTSIZE_MEMORY_LIMIT_BYTES and RIGHTSIZE_MEMORY_REQUEST_BYTES are used
// where the cgroup shows no limit (see package runtimeinfo).
//
// A program that wants the same without an import side effect calls
// runtimeinfo.Start itself, with options in code.
//
// # Go versions
//
// Go 1.25+ sets a container-aware default GOMAXPROCS itself (leaf cgroup
// only, rounded up, minimum 2, re-read about every second) when the main
// module's go line is 1.25 or later and GODEBUG does not say otherwise.
// Where rightsize's value equals that default it leaves the runtime in
// charge (any runtime.GOMAXPROCS(n) call would switch the runtime's updates
// off); where the hierarchy or the policy gives another value it sets it and
// keeps following the limit itself. On older Go the runtime knows no cgroups
// and rightsize does all of it. No Go version sets GOMEMLIMIT by itself.
//
// # automaxprocs and automemlimit
//
// go.uber.org/automaxprocs sets GOMAXPROCS (floor of the leaf quota, minimum
// 1) and github.com/KimMachineGun/automemlimit sets GOMEMLIMIT (90% of the
// limit) in their own init functions, once (automemlimit follows resizes
// only when asked to, through its own API). Imported together with
// rightsize, all of them act at init and the one initialised last wins; if
// rightsize runs after one of them it overrides that value, and if it runs
// first its watcher sees a value it did not set and leaves that setting
// alone from then on. docs/migrating.md maps their options and variables
// to rightsize's.
package rightsize

import (
	"errors"
	"os"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// tuner is the blank import's; nil when init did nothing.
var tuner *runtimeinfo.Tuner

func init() { tuner = start(os.Environ()) }

// start is init's body; the tests call it too. It is runtimeinfo.Start with
// the RIGHTSIZE_* settings of env. It never panics and never exits: whatever
// the environment does, the program goes on.
func start(env []string) (t *runtimeinfo.Tuner) {
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	_, t, err := runtimeinfo.Start(runtimeinfo.WithEnviron(env), runtimeinfo.WithEnvConfig())
	if errors.Is(err, cgroup.ErrNotSupported) {
		return nil
	}
	return t
}

// Result returns the decisions of the blank import: those of init, updated
// with the latest change the watcher made, and the watcher's changes since
// (the last 32). ok is false when init did nothing (RIGHTSIZE=off, or not
// Linux).
func Result() (res runtimeinfo.Result, changes []runtimeinfo.Decision, ok bool) {
	if tuner == nil {
		return runtimeinfo.Result{}, nil, false
	}
	return tuner.Result(), tuner.Changes(), true
}

// Stop stops the watcher started by init, if any, and waits for it.
// GOMAXPROCS and GOMEMLIMIT keep their values.
func Stop() { tuner.Stop() }

// Undo stops the watcher and restores GOMAXPROCS and GOMEMLIMIT to what
// they were before init (GOMAXPROCS to the Go runtime's automatic default
// where that was in force), where they still have rightsize's values.
func Undo() { tuner.Undo() }

// OnMemoryPressure registers fn to be called by the blank import's watcher
// when the process gets close to its memory limit, so that it can shed
// load or drop caches before the OOM killer acts; remove unregisters it.
// Each signal is edge-triggered with hysteresis: fn hears once when a
// condition begins (MemoryPressure.Active) and once when it ends. The
// conditions are the live heap reaching 90% of GOMEMLIMIT (the earliest
// warning for a Go service: seconds before an OOM kill in our
// measurements), the working set crossing 90% of the limit, the kernel
// reporting memory.high or memory.max events, and (cgroup v2) memory
// pressure stall above 10% (see runtimeinfo.PressureCause). fn runs on the
// watcher's goroutine and must not block (nor call Stop or Undo). The
// watcher runs when the cgroup has a CPU or memory limit: without either,
// or with RIGHTSIZE=off or RIGHTSIZE_WATCH_INTERVAL=off, fn is never
// called. With a CPU limit alone only the heap condition can fire, against
// a GOMEMLIMIT the program or the environment set.
func OnMemoryPressure(fn func(runtimeinfo.MemoryPressure)) (remove func()) {
	return tuner.OnMemoryPressure(fn)
}
