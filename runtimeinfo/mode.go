package runtimeinfo

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/procfs"
)

// RuntimeMode is how the Go runtime in this process chooses GOMAXPROCS by
// itself.
type RuntimeMode struct {
	// GoVersion is runtime.Version().
	GoVersion string
	// ContainerAware is set when the runtime's default GOMAXPROCS follows
	// the cgroup CPU limit (Go 1.25+ with containermaxprocs=1).
	ContainerAware bool
	// Updates is set when the runtime also re-reads the limit about every
	// second (Go 1.25+ with updatemaxprocs=1).
	Updates bool
	// Reason says where the mode comes from.
	Reason string
}

// detectRuntimeMode works out the runtime's GOMAXPROCS mode from
// runtime.Version, the GODEBUG environment variable in env and the main
// module's default GODEBUG (debug.ReadBuildInfo, setting DefaultGODEBUG,
// which reflects its go line and //go:debug directives).
func detectRuntimeMode(env []string) RuntimeMode {
	def := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				def = s.Value
			}
		}
	}
	godebug, _ := procfs.Getenv(env, "GODEBUG")
	return detectMode(runtime.Version(), def, godebug)
}

func detectMode(version, defaultGODEBUG, godebug string) RuntimeMode {
	m := RuntimeMode{GoVersion: version}
	minor, ok := goMinor(version)
	if ok && minor < 25 {
		m.Reason = version + " has no container-aware GOMAXPROCS"
		return m
	}
	cm, cmSrc := "1", version
	um, umSrc := "1", version
	if v, ok := godebugValue(defaultGODEBUG, "containermaxprocs"); ok {
		cm, cmSrc = v, "main module's default GODEBUG"
	}
	if v, ok := godebugValue(defaultGODEBUG, "updatemaxprocs"); ok {
		um, umSrc = v, "main module's default GODEBUG"
	}
	if v, ok := godebugValue(godebug, "containermaxprocs"); ok {
		cm, cmSrc = v, "GODEBUG"
	}
	if v, ok := godebugValue(godebug, "updatemaxprocs"); ok {
		um, umSrc = v, "GODEBUG"
	}
	m.ContainerAware = cm != "0"
	m.Updates = m.ContainerAware && um != "0"
	switch {
	case !m.ContainerAware:
		m.Reason = "containermaxprocs=" + cm + " (" + cmSrc + ")"
	case !m.Updates:
		m.Reason = "containermaxprocs=" + cm + " (" + cmSrc + "), updatemaxprocs=" + um + " (" + umSrc + ")"
	default:
		m.Reason = "containermaxprocs=" + cm + " (" + cmSrc + "), updatemaxprocs=" + um + " (" + umSrc + ")"
	}
	return m
}

// goMinor returns the minor version of "go1.25.3", "go1.26rc1" or
// "devel go1.26-abcdef ...". ok is false for anything else (treated as
// recent).
func goMinor(v string) (int, bool) {
	i := strings.Index(v, "go1.")
	if i < 0 {
		return 0, false
	}
	s := v[i+4:]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.Atoi(s[:j])
	if err != nil {
		return 0, false
	}
	return n, true
}

// godebugValue returns the value of key in a GODEBUG list "a=1,b=0"; the
// last occurrence wins.
func godebugValue(list, key string) (string, bool) {
	val, found := "", false
	for list != "" {
		var kv string
		kv, list, _ = strings.Cut(list, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}
