//go:build !linux

package prometheus

import "runtime"

func affinityCPUs() (int, bool) { return runtime.NumCPU(), true }
