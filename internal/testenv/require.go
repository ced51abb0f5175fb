// Package testenv holds what the real-environment tests share: the rule
// that decides whether a missing environment skips a test or fails it.
//
// A test that needs something this machine may lack (root and a writable
// cgroup v1 hierarchy, runc, a qemu guest, a container engine) skips with
// the reason when it is missing. A run that is meant to exercise it says
// so with an environment variable, and then a missing environment is a
// failure, so that CI cannot pass by skipping the only tests that see the
// real thing:
//
//	RIGHTSIZE_REQUIRE=1          every environment below is required
//	RIGHTSIZE_REQUIRE_CGROUP=1   root with a writable cgroup v1 hierarchy
//	RIGHTSIZE_REQUIRE_RUNC=1     runc containers
//	RIGHTSIZE_REQUIRE_QEMU=1     the cgroup v2 qemu guest
//	RIGHTSIZE_REQUIRE_DOCKER=1   a private dockerd (and podman)
//	RIGHTSIZE_REQUIRE_SETPRIV=1  setpriv, to re-run a test as nobody (root reads every file)
//	RIGHTSIZE_REQUIRE_UNSHARE=1  root and unshare, to run a test in a PID namespace of its own
//
// No other variable (CI=true in particular) is needed.
package testenv

import (
	"os"
	"strings"
	"testing"
)

// Environment names, as they appear in RIGHTSIZE_REQUIRE_<NAME>.
const (
	Cgroup = "CGROUP"
	Runc   = "RUNC"
	Qemu   = "QEMU"
	Docker = "DOCKER"
	Podman = "PODMAN"
	// Unshare: root and unshare(1) (util-linux), for a test run in a new
	// PID namespace.
	Unshare = "UNSHARE"
)

// EnvAll requires every environment.
const EnvAll = "RIGHTSIZE_REQUIRE"

// EnvName returns the variable that requires environment name.
func EnvName(name string) string { return EnvAll + "_" + strings.ToUpper(name) }

// Required reports whether environment name must be present in this run.
// Podman is covered by RIGHTSIZE_REQUIRE_DOCKER too: the engine tests are
// one job.
func Required(name string) bool {
	if on(os.Getenv(EnvAll)) || on(os.Getenv(EnvName(name))) {
		return true
	}
	return strings.EqualFold(name, Podman) && on(os.Getenv(EnvName(Docker)))
}

func on(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// SkipOrFail skips t with the reason, or fails it when environment name is
// Required. The message says which variable decides.
func SkipOrFail(t testing.TB, name, reason string) {
	t.Helper()
	if Required(name) {
		t.Fatalf("%s (required by %s=1 or %s=1)", reason, EnvName(name), EnvAll)
	}
	t.Skipf("%s (set %s=1 to fail instead)", reason, EnvName(name))
}
