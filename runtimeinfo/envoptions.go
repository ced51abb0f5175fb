package runtimeinfo

import (
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/procfs"
)

// Policy environment variables, read by the blank import and by the
// rightsize command (which shows what the blank import would do).
const (
	EnvCPUPolicy     = "RIGHTSIZE_CPU_POLICY"           // ceil, floor or runtime
	EnvMinProcs      = "RIGHTSIZE_MIN_PROCS"            // smallest GOMAXPROCS, >= 1
	EnvMemoryRatio   = "RIGHTSIZE_MEMORY_RATIO"         // in (0, 1]
	EnvMemoryReserve = "RIGHTSIZE_MEMORY_RESERVE_BYTES" // bytes kept below the limit
	EnvGOMAXPROCSOff = "RIGHTSIZE_GOMAXPROCS"           // "off": leave GOMAXPROCS alone
	EnvGOMEMLIMITOff = "RIGHTSIZE_GOMEMLIMIT"           // "off": leave GOMEMLIMIT alone
)

// IsOff reports whether an environment value switches something off
// ("off", "0", "false", "no", "disable", "disabled"; any case).
func IsOff(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "off", "0", "false", "no", "disable", "disabled":
		return true
	}
	return false
}

// OptionsFromEnv turns the RIGHTSIZE_* policy variables of env (a list in
// os.Environ form) into options. An invalid value yields a warning naming
// the variable and is otherwise ignored, so the default applies.
func OptionsFromEnv(env []string) (opts []Option, warnings []string) {
	get := func(k string) (string, bool) {
		v, ok := procfs.Getenv(env, k)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	warn := func(k, v, why string) {
		warnings = append(warnings, k+"="+strconv.Quote(v)+": "+why+"; default used")
	}
	if v, ok := get(EnvCPUPolicy); ok {
		if p, ok := ParseCPUPolicy(strings.ToLower(v)); ok {
			opts = append(opts, WithCPUPolicy(p))
		} else {
			warn(EnvCPUPolicy, v, "want ceil, floor or runtime")
		}
	}
	if v, ok := get(EnvMinProcs); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			opts = append(opts, WithMinProcs(n))
		} else {
			warn(EnvMinProcs, v, "want a positive integer")
		}
	}
	if v, ok := get(EnvMemoryRatio); ok {
		if r, err := strconv.ParseFloat(v, 64); err == nil && r > 0 && r <= 1 {
			opts = append(opts, WithMemoryRatio(r))
		} else {
			warn(EnvMemoryRatio, v, "want a number in (0, 1]")
		}
	}
	if v, ok := get(EnvMemoryReserve); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			opts = append(opts, WithMemoryReserve(n))
		} else {
			warn(EnvMemoryReserve, v, "want a positive integer")
		}
	}
	if v, ok := get(EnvGOMAXPROCSOff); ok && IsOff(v) {
		opts = append(opts, WithGOMAXPROCS(false))
	}
	if v, ok := get(EnvGOMEMLIMITOff); ok && IsOff(v) {
		opts = append(opts, WithGOMEMLIMIT(false))
	}
	return opts, warnings
}
