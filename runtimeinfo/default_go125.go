//go:build go1.25

package runtimeinfo

import "runtime"

// canHandBack is set when runtime.SetDefaultGOMAXPROCS exists.
const canHandBack = true

// setDefaultGOMAXPROCS hands GOMAXPROCS back to the runtime: its automatic
// default, re-enabling its updates where the mode has them.
func setDefaultGOMAXPROCS(int) { runtime.SetDefaultGOMAXPROCS() }
