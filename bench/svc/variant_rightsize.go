//go:build rightsize

package main

import (
	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/runtimeinfo"
)

func init() {
	variant = "rightsize"
	registerPressure = func(fn func(Pressure)) {
		rightsize.OnMemoryPressure(func(p runtimeinfo.MemoryPressure) {
			fn(Pressure{Cause: string(p.Cause), Active: p.Active, WorkingSet: p.WorkingSet, Limit: p.Limit})
		})
	}
}
