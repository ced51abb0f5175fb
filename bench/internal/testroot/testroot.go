// Package testroot gates the tests that need root and a writable
// cgroupfs: they skip with -short, and elsewhere with the reason.
package testroot

import (
	"errors"
	"testing"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
)

// Host returns the cgroup host or skips the test.
func Host(t testing.TB) *cgctl.Host {
	t.Helper()
	if testing.Short() {
		t.Skip("experiment smoke runs are skipped with -short")
	}
	h, err := cgctl.Discover()
	if err != nil {
		if errors.Is(err, cgctl.ErrUnavailable) {
			t.Skipf("skipped: %v", err)
		}
		t.Fatal(err)
	}
	return h
}

// NothingLeft fails the test if a cgroup or process is left.
func NothingLeft(t testing.TB) {
	t.Helper()
	if g, p := cgctl.Outstanding(); g != 0 || p != 0 {
		t.Errorf("left behind: %d cgroups, %d processes", g, p)
		cgctl.CleanupAll()
	}
}
