package reaper

import "runtime"

func runtimeVersion() string { return runtime.Version() }
