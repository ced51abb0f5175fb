//go:build !linux

package runtimeinfo

import "runtime"

func affinityCPUs() (int, bool) { return runtime.NumCPU(), true }

func hostMemory() (int64, bool) { return 0, false }
