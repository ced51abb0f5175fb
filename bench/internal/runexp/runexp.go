// Package runexp is the common main of the experiments: a context that
// Ctrl-C, SIGTERM and SIGHUP cancel, removal of every cgroup the
// experiment made, writing whatever results exist (also after an
// interruption), and the exit status.
package runexp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
)

// Main runs execute and exits. execute returns a function that writes its
// results (nil when there are none) and its error. Exit status: 0, 130
// when interrupted, 2 when no writable cgroupfs is available, 1 otherwise.
func Main(name string, execute func(ctx context.Context) (write func() error, err error)) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	write, err := execute(ctx)
	// Signals stay caught until the cleanup is done: a second Ctrl-C must
	// not leave cgroups behind.
	for _, e := range cgctl.CleanupAll() {
		fmt.Fprintln(os.Stderr, "cleanup:", e)
	}
	if write != nil {
		if werr := write(); werr != nil {
			fmt.Fprintln(os.Stderr, "writing results:", werr)
		}
	}
	stop()
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "interrupted; cgroups and processes removed")
		os.Exit(130)
	}
	Fail(name, err)
}

// Fail reports err and exits: 2 when no writable cgroupfs is available,
// 1 otherwise.
func Fail(name string, err error) {
	fmt.Fprintln(os.Stderr, name+":", err)
	if errors.Is(err, cgctl.ErrUnavailable) {
		os.Exit(2)
	}
	os.Exit(1)
}
