package runtimeinfo

import (
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// Environment variables. The Downward API values are read by every Reader
// (see the package documentation); the settings only with WithEnvConfig,
// which the blank import of package rightsize uses.
const (
	// Downward API values, used where the cgroup shows no limit.
	EnvCPULimitMillis     = "RIGHTSIZE_CPU_LIMIT_MILLIS"
	EnvCPURequestMillis   = "RIGHTSIZE_CPU_REQUEST_MILLIS"
	EnvMemoryLimitBytes   = "RIGHTSIZE_MEMORY_LIMIT_BYTES"
	EnvMemoryRequestBytes = "RIGHTSIZE_MEMORY_REQUEST_BYTES"

	// Settings.
	EnvOff           = "RIGHTSIZE"                      // "off": do nothing
	EnvLog           = "RIGHTSIZE_LOG"                  // "off": no log lines
	EnvCPUPolicy     = "RIGHTSIZE_CPU_POLICY"           // ceil, floor or runtime
	EnvMinProcs      = "RIGHTSIZE_MIN_PROCS"            // smallest GOMAXPROCS, >= 1
	EnvMemoryRatio   = "RIGHTSIZE_MEMORY_RATIO"         // in (0, 1]
	EnvMemoryReserve = "RIGHTSIZE_MEMORY_RESERVE_BYTES" // bytes kept below the limit
	EnvGOMAXPROCSOff = "RIGHTSIZE_GOMAXPROCS"           // "off": leave GOMAXPROCS alone
	EnvGOMEMLIMITOff = "RIGHTSIZE_GOMEMLIMIT"           // "off": leave GOMEMLIMIT alone
	EnvWatchInterval = "RIGHTSIZE_WATCH_INTERVAL"       // a duration, or "off"
	EnvOffHeap       = "RIGHTSIZE_OFFHEAP"              // "off": a static GOMEMLIMIT
)

// isOff reports whether an environment value switches something off
// ("off", "0", "false", "no", "disable", "disabled"; any case).
func isOff(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "0", "false", "no", "disable", "disabled":
		return true
	}
	return false
}

// isOn reports whether an environment value switches something on ("on",
// "1", "true", "yes", "enable", "enabled"; any case).
func isOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "1", "true", "yes", "enable", "enabled":
		return true
	}
	return false
}

// envSettings is what the RIGHTSIZE_* settings of an environment say: the
// options they amount to, and each variable whose value is unusable (the
// default then applies).
type envSettings struct {
	off     bool
	opts    []Option
	invalid []string
}

// settingsFromEnv is the one parser of the settings, for WithEnvConfig
// (which turns an invalid value into an error) and for the blank import
// (which logs it once and goes on with the default).
func settingsFromEnv(env []string) envSettings {
	var s envSettings
	get := func(k string) (string, bool) {
		v, ok := procfs.Getenv(env, k)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	bad := func(k, v, why string) {
		s.invalid = append(s.invalid, k+"="+strconv.Quote(v)+": "+why)
	}
	if v, ok := get(EnvOff); ok && isOff(v) {
		s.off = true
	}
	if v, ok := get(EnvLog); ok && isOff(v) {
		s.opts = append(s.opts, WithLogger(nil))
	}
	if v, ok := get(EnvCPUPolicy); ok {
		if p := CPUPolicy(strings.ToLower(v)); p.valid() {
			s.opts = append(s.opts, WithCPUPolicy(p))
		} else {
			bad(EnvCPUPolicy, v, "want ceil, floor or runtime")
		}
	}
	if v, ok := get(EnvMinProcs); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			s.opts = append(s.opts, WithMinProcs(n))
		} else {
			bad(EnvMinProcs, v, "want a positive integer")
		}
	}
	if v, ok := get(EnvMemoryRatio); ok {
		if r, err := strconv.ParseFloat(v, 64); err == nil && r > 0 && r <= 1 {
			s.opts = append(s.opts, WithMemoryRatio(r))
		} else {
			bad(EnvMemoryRatio, v, "want a number in (0, 1]")
		}
	}
	if v, ok := get(EnvMemoryReserve); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			s.opts = append(s.opts, WithMemoryReserve(n))
		} else {
			bad(EnvMemoryReserve, v, "want a positive number of bytes")
		}
	}
	if v, ok := get(EnvGOMAXPROCSOff); ok {
		switch {
		case isOff(v):
			s.opts = append(s.opts, WithGOMAXPROCS(false))
		case !isOn(v):
			bad(EnvGOMAXPROCSOff, v, `want "off" or "on"`)
		}
	}
	if v, ok := get(EnvGOMEMLIMITOff); ok {
		switch {
		case isOff(v):
			s.opts = append(s.opts, WithGOMEMLIMIT(false))
		case !isOn(v):
			bad(EnvGOMEMLIMITOff, v, `want "off" or "on"`)
		}
	}
	if v, ok := get(EnvOffHeap); ok {
		switch {
		case isOff(v):
			s.opts = append(s.opts, WithOffHeap(false))
		case !isOn(v):
			bad(EnvOffHeap, v, `want "off" or "on"`)
		}
	}
	if v, ok := get(EnvWatchInterval); ok {
		if isOff(v) {
			s.opts = append(s.opts, WithInterval(0))
		} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
			s.opts = append(s.opts, WithInterval(d))
		} else {
			bad(EnvWatchInterval, v, "want a duration such as 1s, or off")
		}
	}
	return s
}
