package runtimeinfo

import (
	"log/slog"
	"time"

	"github.com/rightsize/rightsize/procfs"
)

// Defaults. They live here and nowhere else.
const (
	// DefaultCPUPolicy is ceil with minimum 1, chosen by the measurement
	// in bench/ (bench/README.md; 2-core cgroup-v1 host, real CFS quotas,
	// closed and open loop): at 0.5 and 1 CPU, 1 beat the Go runtime's 2
	// (at 1 CPU 2,997 against 2,668 req/s, closed-loop P99.9 48 against
	// 129 ms); at 1.5 CPUs, 2 beat floor's 1 (3,993 against 3,011 req/s,
	// open-loop P99.9 at 80% load 33 against 339 ms). Ceil with minimum 1
	// was best or tied at every quota measured.
	DefaultCPUPolicy = PolicyCeil

	// DefaultMinProcs is the smallest GOMAXPROCS rightsize sets.
	DefaultMinProcs = 1

	// DefaultMemoryRatio is the share of the memory limit given to
	// GOMEMLIMIT; the rest is headroom for memory the Go runtime does not
	// account (cgo, stacks of non-Go threads, the page cache charged to the
	// cgroup).
	DefaultMemoryRatio = 0.9

	// DefaultWatchInterval is the polling interval used by the blank
	// import's watcher.
	DefaultWatchInterval = time.Second
)

// Option configures Read, Tune and Watch.
type Option interface{ apply(*config) }

type config struct {
	root           string
	logger         *slog.Logger
	loggerSet      bool
	policy         CPUPolicy
	minProcs       int
	memRatio       float64
	memReserve     int64 // > 0: GOMEMLIMIT = limit - reserve
	doProcs        bool
	doMem          bool
	env            []string // nil: os.Environ (live) or <root>/proc/self/environ
	envSet         bool
	notify         func(Decision)
	goVersion      string // "" : runtime.Version(); tests
	defaultGODEBUG *string
}

// defaultConfig holds every default in one place.
func defaultConfig() config {
	return config{
		root:     procfs.DefaultRoot,
		policy:   DefaultCPUPolicy,
		minProcs: DefaultMinProcs,
		memRatio: DefaultMemoryRatio,
		doProcs:  true,
		doMem:    true,
	}
}

func newConfig(opts []Option) config {
	c := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

func (c *config) log() *slog.Logger {
	if c.loggerSet {
		return c.logger
	}
	return slog.Default()
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRoot reads every file below dir instead of "/" (fixture trees,
// captured bug reports). With a root other than "/" nothing comes from the
// live process: the environment is read from <dir>/proc/self/environ, the
// CPUs the process may run on from <dir>/proc/self/status
// (Cpus_allowed_list) and host memory from <dir>/proc/meminfo.
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) {
		if dir == "" {
			dir = procfs.DefaultRoot
		}
		c.root = dir
	})
}

// WithLogger sends the log lines to l; nil silences them. The default is
// slog.Default(), looked up at each line.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger, c.loggerSet = l, true })
}

// WithCPUPolicy chooses how a fractional CPU limit becomes GOMAXPROCS.
// An unknown policy is ignored (the default stays).
func WithCPUPolicy(p CPUPolicy) Option {
	return optionFunc(func(c *config) {
		if p.valid() {
			c.policy = p
		}
	})
}

// WithMinProcs raises GOMAXPROCS to at least n after rounding (the cap at
// the CPUs the process may run on still applies). n < 1 means 1.
func WithMinProcs(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			n = 1
		}
		c.minProcs = n
	})
}

// WithMemoryRatio sets GOMEMLIMIT to ratio × the memory limit. ratio must
// be in (0, 1]; other values are ignored. It replaces a reserve.
func WithMemoryRatio(ratio float64) Option {
	return optionFunc(func(c *config) {
		if ratio > 0 && ratio <= 1 {
			c.memRatio = ratio
			c.memReserve = 0
		}
	})
}

// WithMemoryReserve sets GOMEMLIMIT to the memory limit minus bytes instead
// of a ratio. When the reserve is not below the limit the ratio is used.
func WithMemoryReserve(bytes int64) Option {
	return optionFunc(func(c *config) {
		if bytes > 0 {
			c.memReserve = bytes
		}
	})
}

// WithGOMAXPROCS(false) leaves GOMAXPROCS alone.
func WithGOMAXPROCS(on bool) Option {
	return optionFunc(func(c *config) { c.doProcs = on })
}

// WithGOMEMLIMIT(false) leaves GOMEMLIMIT alone.
func WithGOMEMLIMIT(on bool) Option {
	return optionFunc(func(c *config) { c.doMem = on })
}

// WithEnviron uses env (in os.Environ form) instead of the process's
// environment for the GOMAXPROCS, GOMEMLIMIT, GODEBUG and RIGHTSIZE_*
// variables.
func WithEnviron(env []string) Option {
	return optionFunc(func(c *config) {
		c.env = append([]string(nil), env...)
		c.envSet = true
	})
}

// WithNotify calls fn with every decision that changed a setting (from Tune
// and from each Watch tick), after it was applied. fn must not block.
func WithNotify(fn func(Decision)) Option {
	return optionFunc(func(c *config) { c.notify = fn })
}
