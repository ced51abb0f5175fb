package reaper_test

import (
	"fmt"
	"log/slog"

	"github.com/rightsize/rightsize/reaper"
)

// A service that may run as PID 1 of its container starts the reaper
// once, early in main. Anywhere else it does nothing and says why. What it
// does depends on the process it runs in (PID 1 or not, the environment,
// the kernel), and the reason names the PID, so this example has no Output
// and is only compiled; ExampleStart_off has one.
func ExampleStart() {
	r, err := reaper.Start(reaper.WithLogger(slog.Default()))
	if err != nil {
		panic(err) // an invalid option
	}
	defer r.Stop()
	fmt.Println(r.Active(), r.Mode(), r.Reason())
	// Later, for diagnostics:
	st := r.Stats()
	fmt.Println(st.Reaped, st.Recent)
}

// RIGHTSIZE_REAPER=off switches the reaper off wherever the process runs;
// WithEnviron gives the environment here (a program leaves it out to read
// its own), so the output is the same on every machine.
func ExampleStart_off() {
	r, err := reaper.Start(reaper.WithEnviron([]string{"RIGHTSIZE_REAPER=off"}))
	if err != nil {
		panic(err) // an invalid option
	}
	defer r.Stop()
	fmt.Println(r.Active(), r.Mode())
	fmt.Println(r.Reason())
	// Output:
	// false off
	// switched off by RIGHTSIZE_REAPER=off
}
