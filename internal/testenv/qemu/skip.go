package qemu

import (
	"errors"
	"fmt"
	"os/exec"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

// EnvRequire, set to 1 (or RIGHTSIZE_REQUIRE=1), turns a missing qemu or
// kernel into a test failure: CI must not pass by skipping the only tests
// that see a real cgroup v2 machine.
const EnvRequire = "RIGHTSIZE_REQUIRE_QEMU"

// Available reports whether guests can be booted here. When they cannot,
// reason says what is missing and how to get it.
func Available() (reason string, ok bool) {
	reason, _ = availability()
	return reason, reason == ""
}

// availability also tells whether the lack is a fault rather than an
// absence: a kernel that is there but unfit is never skipped over.
func availability() (reason string, broken bool) {
	if _, err := exec.LookPath(QemuBinary); err != nil {
		return fmt.Sprintf("%s not found (apt-get install qemu-system-x86, or run .ci/qemu-setup.sh)", QemuBinary), false
	}
	if _, err := FindKernel(); err != nil {
		return err.Error(), !errors.Is(err, errNoKernel)
	}
	return "", false
}

// Required reports whether this run must have qemu: RIGHTSIZE_REQUIRE_QEMU=1
// or RIGHTSIZE_REQUIRE=1 (see package testenv).
func Required() bool { return testenv.Required(testenv.Qemu) }

// Skip skips t when no guest can be booted here, and in -short mode, since
// a boot under emulation takes seconds. It fails t instead when qemu is
// Required, or when a kernel is present but unfit for the guest.
func Skip(t testing.TB) {
	t.Helper()
	reason, broken := availability()
	switch {
	case reason != "" && broken:
		t.Fatalf("qemu guest needed but unavailable: %s", reason)
	case reason != "":
		testenv.SkipOrFail(t, testenv.Qemu, "qemu guest unavailable: "+reason)
	case testing.Short() && !Required():
		t.Skip("qemu guest boots take seconds; skipped in -short mode")
	}
}
