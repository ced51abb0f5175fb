//go:build !linux

package runc

import (
	"context"
	"fmt"
	"runtime"
	"testing"
)

// Outside Linux there are no cgroups and no runc: the package still
// compiles, so that test files importing it build on every GOOS, and every
// entry point reports why nothing can run.

func checkAvailable() error {
	return fmt.Errorf("%w: containers need Linux, this is %s", ErrUnavailable, runtime.GOOS)
}

func run(context.Context, Config) (Result, error) { return Result{}, checkAvailable() }

func parentCgroup(t testing.TB, _ string, _ Limits) *Cgroup {
	t.Helper()
	skipOrFail(t, checkAvailable().Error())
	return nil
}
