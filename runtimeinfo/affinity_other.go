//go:build !linux

package runtimeinfo

import "runtime"

func affinityCPUs() (int, bool) { return runtime.NumCPU(), true }
