// Command qemu-prepare fetches and unpacks the guest kernel for the qemu
// test harness (see package qemu's PrepareKernel) and prints its path.
// .ci/qemu-setup.sh runs it once, after installing qemu, so that the tests
// themselves never download anything.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/rightsize/rightsize/internal/testenv/qemu"
)

func main() {
	k, err := qemu.PrepareKernel(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemu-prepare:", err)
		os.Exit(1)
	}
	extra := strings.Join(k.Cmdline, " ")
	if extra == "" {
		extra = "(none)"
	}
	fmt.Printf("kernel %s (%s)\nextra kernel parameters: %s\n", k.Path, k.Release, extra)
}
