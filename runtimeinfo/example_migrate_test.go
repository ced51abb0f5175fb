package runtimeinfo_test

import (
	"log"
	"log/slog"
	"time"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// The replacements in docs/migrating.md, compiled with the module. They
// act on the live process, so they have no Output and are not run.

// maxprocs.Set(maxprocs.Logger(log.Printf), maxprocs.Min(2)) with its
// default floor rounding, once, with an undo. (It tunes the live process:
// no Output, only compiled.)
func Example_fromAutomaxprocs() {
	_, undo, err := runtimeinfo.Tune(
		runtimeinfo.WithPrintf(log.Printf),
		runtimeinfo.WithMinProcs(2),
		runtimeinfo.WithCPUPolicy(runtimeinfo.PolicyFloor), // automaxprocs rounds down
		runtimeinfo.WithGOMEMLIMIT(false),                  // automaxprocs leaves memory alone
	)
	if err != nil {
		log.Printf("rightsize: %v", err)
	}
	defer undo()
}

// memlimit.SetGoMemLimitWithOpts(memlimit.WithRatio(0.8),
// memlimit.WithRefreshInterval(time.Minute), memlimit.WithLogger(slog.Default()))
// (automemlimit v0.7), or memlimit.Set with the same options (v1). (It
// tunes and watches the live process: no Output, only compiled.)
func Example_fromAutomemlimit() {
	_, tuner, err := runtimeinfo.Start(
		runtimeinfo.WithMemoryRatio(0.8),
		runtimeinfo.WithInterval(time.Minute),
		runtimeinfo.WithLogger(slog.Default()),
		runtimeinfo.WithGOMAXPROCS(false), // automemlimit leaves GOMAXPROCS alone
	)
	if err != nil {
		slog.Warn("rightsize", "err", err)
	}
	defer tuner.Stop()
}

// Both together, following resizes, with the RIGHTSIZE_* variables of the
// environment: what the blank import does, as one call. (It tunes and
// watches the live process: no Output, only compiled.)
func Example_both() {
	_, tuner, err := runtimeinfo.Start(runtimeinfo.WithEnvConfig())
	if err != nil {
		slog.Warn("rightsize", "err", err)
	}
	defer tuner.Undo()
}
