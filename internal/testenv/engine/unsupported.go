//go:build !linux

package engine

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
)

// Outside Linux there are no cgroups and no engines to start: the package
// compiles so that test files importing it build everywhere, and every
// entry point says why nothing can run.

func unsupported() error {
	return fmt.Errorf("%w: container engines need Linux, this is %s", ErrUnavailable, runtime.GOOS)
}

// Available reports whether engine kind ("docker" or "podman") can run
// here, and if not, why.
func Available(kind string) error { return unsupported() }

// StartDocker starts a private dockerd (Linux only).
func StartDocker(ctx context.Context, img *Image) (*Engine, error) { return nil, unsupported() }

// StartPodman prepares a private podman (Linux only).
func StartPodman(ctx context.Context, img *Image) (*Engine, error) { return nil, unsupported() }

// Limits are what ParentCgroup writes into the cgroup it creates.
type Limits struct {
	CPUQuota  int64
	CPUPeriod uint64
	Memory    int64
}

// ParentCgroup creates a cgroup for --cgroup-parent (Linux only).
func (e *Engine) ParentCgroup(lim Limits) (string, error) { return "", unsupported() }

// RemoveCgroup removes a cgroup made by ParentCgroup (Linux only).
func (e *Engine) RemoveCgroup(path string) error { return unsupported() }

// CgroupDir returns the host directory of a cgroup (Linux only).
func CgroupDir(controller, path string) (string, error) { return "", unsupported() }

func swept() []string { return nil }

const dirPrefix = "rightsize-engine-"

func writeOwner(string) error { return nil }

func dieWithParent(*exec.Cmd) {}
