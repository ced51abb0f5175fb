//go:build !go1.25

package runtimeinfo

import "runtime"

const canHandBack = false

// setDefaultGOMAXPROCS restores the runtime's default before Go 1.25:
// the number of CPUs, a plain number (there are no automatic updates).
func setDefaultGOMAXPROCS(def int) {
	if def > 0 && runtime.GOMAXPROCS(0) != def {
		runtime.GOMAXPROCS(def)
	}
}
