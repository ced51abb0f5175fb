package runtimeinfo

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
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

	// DefaultWatchInterval is how often the watcher re-reads the limits.
	DefaultWatchInterval = time.Second

	// MinWatchInterval is the shortest watch interval: a shorter one is
	// raised to it, with one warning. Each tick costs a few system calls;
	// at 100 ms that is well under 0.1% of one CPU.
	MinWatchInterval = 100 * time.Millisecond

	// MinGOMEMLIMIT is the floor of the safety envelope: rightsize never
	// sets GOMEMLIMIT below it. An empty Go 1.26 program already holds
	// 4.4 MiB of runtime memory before its heap holds anything (measured:
	// cd bench && go run ./memfloor; bench/results/memfloor.txt), so a
	// limit near that can never be met and the collector would run without
	// pause. A computed value below the floor means the inputs are wrong (a
	// limit of a few bytes, a reserve as large as the limit) and is not
	// applied: one warning line, the previous value kept.
	MinGOMEMLIMIT = 8 << 20
)

// Fields selects what a Reader reads besides the values the GOMAXPROCS and
// GOMEMLIMIT decisions need (CPU limit, CPUs, memory limit, memory.high,
// host memory), which it always reads.
type Fields uint

const (
	// FieldRequests: the CPU and memory requests (Kubernetes), and the
	// environment detection their rule needs.
	FieldRequests Fields = 1 << iota
	// FieldPIDs: pids.max.
	FieldPIDs
	// FieldUsage: every usage statistic of cgroup.Stats (cgroup.StatsAll).
	FieldUsage
	// FieldProcesses: this process's share of the process table (zombies,
	// children, threads, descriptors against RLIMIT_NOFILE).
	FieldProcesses

	// FieldAll is everything.
	FieldAll = FieldRequests | FieldPIDs | FieldUsage | FieldProcesses
)

// Option configures NewReader, Read, Tune, Watch, Recommend and Start. An
// invalid option makes them return an error wrapping ErrInvalidOption.
type Option interface{ apply(*config) }

// ErrInvalidOption is wrapped by the error for an option (or, with
// WithEnvConfig, an environment variable) whose value cannot be used.
var ErrInvalidOption = errors.New("invalid option")

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
	env            []string // the environment; see environ
	envSet         bool
	envFile        bool  // env was read from <root>/proc/self/environ
	envErr         error // reading <root>/proc/self/environ failed
	notify         func(Decision)
	fields         Fields
	interval       time.Duration // Start's watcher; 0: none
	off            bool          // RIGHTSIZE=off with WithEnvConfig
	fromEnv        bool
	warnings       []string // unusable RIGHTSIZE_* values (WithEnvConfig)
	errs           []error
	goVersion      string // "" : runtime.Version(); tests
	defaultGODEBUG *string
	reaper         bool // Start starts the zombie reaper (package reaper)
	// Memory beyond the Go heap (offheap.go, pressure.go).
	offHeap     bool
	pressure    []func(MemoryPressure)
	pressureWS  float64
	pressurePSI float64
}

// defaultConfig holds every default in one place.
func defaultConfig() config {
	return config{
		root:        procfs.DefaultRoot,
		policy:      DefaultCPUPolicy,
		minProcs:    DefaultMinProcs,
		memRatio:    DefaultMemoryRatio,
		doProcs:     true,
		doMem:       true,
		interval:    DefaultWatchInterval,
		offHeap:     true,
		reaper:      true,
		pressureWS:  DefaultPressureWorkingSet,
		pressurePSI: DefaultPressurePSI,
	}
}

// newConfig applies opts to the defaults. With WithEnvConfig the
// RIGHTSIZE_* variables are applied first, so that options given in code
// win over them.
func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for i, o := range opts {
		if o == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i))
			continue
		}
		o.apply(&c)
	}
	if c.fromEnv {
		env, err := environ(&c)
		s := settingsFromEnv(env)
		e := defaultConfig()
		for _, w := range s.invalid {
			e.warnings = append(e.warnings, w+"; the default is used")
		}
		e.env, e.envSet, e.envFile, e.envErr = env, true, c.envFile, err
		e.off = s.off
		for _, o := range s.opts {
			o.apply(&e)
		}
		for _, o := range opts {
			if o != nil {
				o.apply(&e)
			}
		}
		e.errs = c.errs
		c = e
	}
	if len(c.errs) > 0 {
		return c, errors.Join(c.errs...)
	}
	return c, nil
}

// environ returns the environment the configuration reads: WithEnviron's,
// else the process's own (live root), else <root>/proc/self/environ. It is
// read once and kept.
func environ(c *config) ([]string, error) {
	if c.envSet {
		return c.env, c.envErr
	}
	fsys := procfs.NewFS(c.root)
	if fsys.IsLive() {
		c.env = os.Environ()
	} else {
		env, err := fsys.Environ("self")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.envErr = err
		}
		c.env, c.envFile = env, true
	}
	c.envSet = true
	return c.env, c.envErr
}

func (c *config) log() *slog.Logger {
	if c.loggerSet {
		return c.logger
	}
	return slog.Default()
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func invalid(c *config, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...))
}

// WithRoot reads every file below dir instead of "/" (fixture trees,
// captured bug reports). With a root other than "/" nothing comes from the
// live process: the environment is read from <dir>/proc/self/environ, the
// CPUs the process may run on from <dir>/proc/self/status
// (Cpus_allowed_list) and host memory from <dir>/proc/meminfo; and no path,
// symbolic links included, resolves outside dir.
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
func WithCPUPolicy(p CPUPolicy) Option {
	return optionFunc(func(c *config) {
		if !p.valid() {
			invalid(c, "CPU policy %q: want ceil, floor or runtime", string(p))
			return
		}
		c.policy = p
	})
}

// WithMinProcs raises GOMAXPROCS to at least n (n ≥ 1) after rounding; the
// cap at the CPUs the process may run on still applies.
func WithMinProcs(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			invalid(c, "minimum GOMAXPROCS %d: want 1 or more", n)
			return
		}
		c.minProcs = n
	})
}

// WithMemoryRatio sets GOMEMLIMIT to ratio × the memory limit, ratio in
// (0, 1]. It replaces a reserve.
func WithMemoryRatio(ratio float64) Option {
	return optionFunc(func(c *config) {
		if !(ratio > 0 && ratio <= 1) || math.IsNaN(ratio) {
			invalid(c, "memory ratio %v: want a number in (0, 1]", ratio)
			return
		}
		c.memRatio, c.memReserve = ratio, 0
	})
}

// WithMemoryReserve sets GOMEMLIMIT to the memory limit minus bytes (> 0)
// instead of a ratio. A result below MinGOMEMLIMIT is not applied.
func WithMemoryReserve(bytes int64) Option {
	return optionFunc(func(c *config) {
		if bytes <= 0 {
			invalid(c, "memory reserve %d: want a positive number of bytes", bytes)
			return
		}
		c.memReserve = bytes
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
// environment: for the GOMAXPROCS, GOMEMLIMIT and GODEBUG variables, the
// Downward API values and, with WithEnvConfig, the RIGHTSIZE_* settings.
func WithEnviron(env []string) Option {
	return optionFunc(func(c *config) {
		c.env, c.envSet, c.envFile, c.envErr = append([]string(nil), env...), true, false, nil
	})
}

// WithNotify calls fn with every decision that changed a setting (from Tune
// and from each watcher tick), after it was applied. fn must not block.
func WithNotify(fn func(Decision)) Option {
	return optionFunc(func(c *config) { c.notify = fn })
}

// WithFields makes a Reader (and Read) read more than the decisions need;
// see Fields.
func WithFields(f Fields) Option {
	return optionFunc(func(c *config) {
		if f&^FieldAll != 0 {
			invalid(c, "fields %#x: unknown bits", uint(f))
			return
		}
		c.fields |= f
	})
}

// WithInterval sets how often Start's watcher re-reads the limits (default
// DefaultWatchInterval); 0 starts no watcher. An interval below
// MinWatchInterval is raised to it, with one warning.
func WithInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 {
			invalid(c, "interval %v: want 0 (no watcher) or more", d)
			return
		}
		c.interval = d
	})
}

// WithEnvConfig reads the RIGHTSIZE_* settings from the environment (see
// the package documentation for the list): RIGHTSIZE=off, RIGHTSIZE_LOG,
// RIGHTSIZE_CPU_POLICY, RIGHTSIZE_MIN_PROCS, RIGHTSIZE_MEMORY_RATIO,
// RIGHTSIZE_MEMORY_RESERVE_BYTES, RIGHTSIZE_OFFHEAP=off,
// RIGHTSIZE_GOMAXPROCS=off, RIGHTSIZE_GOMEMLIMIT=off and
// RIGHTSIZE_WATCH_INTERVAL (RIGHTSIZE_REAPER is package reaper's). Options given in
// code win over them. A variable with an unusable value is logged as a
// warning, once, and its default applies: a deployment's typo must not
// stop a service. Without this option nothing but GOMAXPROCS, GOMEMLIMIT,
// GODEBUG and the Downward API values is read from the environment.
func WithEnvConfig() Option {
	return optionFunc(func(c *config) { c.fromEnv = true })
}

// WithOffHeap(false) keeps GOMEMLIMIT at its static value (ratio × limit,
// or limit − reserve). By default the watcher lowers it by its estimate of
// the memory charged to the cgroup that the Go runtime does not manage —
// cgo allocations, anonymous mappings, child processes, kernel memory — so
// that the runtime's memory plus that memory stays under the static value;
// never below MinGOMEMLIMIT. docs/memory.md has the measurement behind the
// default. RIGHTSIZE_OFFHEAP=off does the same through WithEnvConfig.
func WithOffHeap(on bool) Option {
	return optionFunc(func(c *config) { c.offHeap = on })
}

// WithReaper(false) keeps Start from starting the zombie reaper. By
// default Start starts package reaper's, which acts only when the process
// is PID 1 of its PID namespace and os/exec's children can be told from
// orphans (see package reaper); RIGHTSIZE_REAPER=off (read by package
// reaper) does the same as this option.
func WithReaper(on bool) Option {
	return optionFunc(func(c *config) { c.reaper = on })
}
