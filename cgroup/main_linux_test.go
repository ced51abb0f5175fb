package cgroup

import (
	"os"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

// TestMain sweeps the cgroups that earlier runs of the real tests
// (real_linux_test.go) left behind, runs the tests, and sweeps this run's;
// the first cgroup a test creates starts the reaper that sweeps them should
// the test binary be killed (see internal/testenv/sweep_linux.go). The
// helper processes the real tests start run the tests alone.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(testenv.SweepMain(m))
}
