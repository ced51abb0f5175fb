package qemu

import (
	"context"
	"testing"
	"time"
)

// ExclusiveWait bounds how long Exclusive waits for the guests of other
// tests (a guest suite runs for one to two minutes; several packages boot
// guests).
const ExclusiveWait = 8 * time.Minute

// Exclusive keeps emulated guests off the machine while t runs: it takes
// the machine-wide lock that guests take turns with (the one Run takes,
// shared by every test process on the machine) and holds it until t ends.
// A guest under emulation saturates the host's CPUs, so a test that
// measures time on the host (how soon a watcher follows a resize, how long
// a process takes to start) takes it; a guest booted meanwhile, in this
// process or another, waits. Do not boot a guest while holding it.
func Exclusive(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ExclusiveWait)
	defer cancel()
	start := time.Now()
	unlock, err := Lock(ctx)
	if err != nil {
		t.Fatalf("waiting for the machine-wide guest lock: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("waited %v for the qemu guests of other tests", d.Round(time.Millisecond))
	}
	t.Cleanup(unlock)
}

// Lock takes the machine-wide guest lock, waiting as long as ctx allows,
// and returns its release. Run takes it for each guest; see Exclusive.
func Lock(ctx context.Context) (unlock func(), err error) { return lockGuests(ctx) }
