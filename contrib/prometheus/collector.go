package prometheus

import (
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Option configures NewCollector.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	root      string
	logger    *slog.Logger
	loggerSet bool
}

// WithRoot reads every file below dir instead of "/": a fixture tree or a
// captured system (see cgroup.WithRoot). With a root other than "/" nothing
// comes from the live process: the RIGHTSIZE_* Downward API variables are
// read from <dir>/proc/self/environ, the CPUs the process may run on from
// <dir>/proc/self/status and the environment (info metric) from the tree.
// GOMAXPROCS and GOMEMLIMIT are always this process's.
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) { c.root = dir })
}

// WithLogger sends the collector's log lines to l; nil silences them. The
// default is slog.Default(), looked up at each line. The collector logs
// when a scrape fails to read a value and the failure differs from the
// previous scrape's (so a persistent failure logs once), and when reads
// recover; nothing when all is well.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger, c.loggerSet = l, true })
}

func (c *config) log() *slog.Logger {
	if c.loggerSet {
		return c.logger
	}
	return slog.Default()
}

// Collector is a prometheus.Collector for the resources of the process's
// container: limits, usage and throttling read from its cgroups, the
// GOMAXPROCS and GOMEMLIMIT in force, and an info metric describing the
// environment. Register it with a prometheus.Registerer; each scrape
// re-reads the cgroup files through one open handle (pread into fixed
// buffers, no rediscovery, no allocation for the reads themselves).
//
// A Collector is safe for concurrent use; concurrent scrapes are
// serialised. Close releases the handle's descriptors.
type Collector struct {
	cfg  config
	fsys procfs.FS
	live bool

	// Fixed at construction.
	env      detect.Env
	kube     bool
	baseCPUs int // non-live root: Cpus_allowed_list count, else 0
	envCPU   float64
	envCPUR  float64
	envMem   int64
	envMemR  int64
	hasEnv   [4]bool // CPU limit, CPU request, memory limit, memory request

	mu        sync.Mutex
	g         *cgroup.Group // nil outside Linux, after Close, or while discovery fails
	supported bool
	closed    bool
	reopen    bool // rediscover before the next scrape
	v         values
	readErrs  uint64
	lastErr   string
}

// values is one scrape's readings. It holds no pointers, so refreshing it
// allocates nothing.
type values struct {
	cpuLimit, cpuRequest       float64
	hasCPULimit, hasCPURequest bool
	cpus                       int

	memLimit, memHigh, memRequest          int64
	hasMemLimit, hasMemHigh, hasMemRequest bool

	pidsLimit    int64
	hasPIDsLimit bool

	st cgroup.Stats

	gomaxprocs int
	gomemlimit int64

	layout cgroup.Layout
}

// NewCollector discovers the process's cgroups (or those of the tree given
// with WithRoot) and returns a collector that reads them on every scrape.
// It fails when discovery fails on Linux. Outside Linux it succeeds: the
// cgroup metrics are absent and GOMAXPROCS, GOMEMLIMIT, the CPUs the
// process may run on and the info metric (cgroup_layout "none") remain.
//
// The environment (container, runtime, orchestrator, QoS class) and the
// RIGHTSIZE_* Downward API variables are read once here: they do not
// change while the process runs.
func NewCollector(opts ...Option) (*Collector, error) {
	cfg := config{root: procfs.DefaultRoot}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	c := &Collector{cfg: cfg, fsys: procfs.NewFS(cfg.root)}
	c.live = c.fsys.IsLive()
	g, err := cgroup.Open(cgroup.WithRoot(c.fsys.Root()))
	switch {
	case err == nil:
		c.g, c.supported = g, true
	case errors.Is(err, cgroup.ErrNotSupported):
	default:
		return nil, err
	}

	if c.live {
		c.env = detect.Environment()
	} else {
		c.env = detect.Detect(detect.WithRoot(c.fsys.Root()))
	}
	c.kube = c.env.Kubernetes != nil

	var environ []string
	if c.live {
		environ = os.Environ()
	} else {
		environ, err = c.fsys.Environ("self")
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			cfg.log().Warn("rightsize/prometheus: cannot read the environment; Downward API values unused", "err", err)
		}
		if st, err := c.fsys.Status("self"); err == nil {
			c.baseCPUs = st.CPUsAllowed
		}
	}
	c.readEnv(environ)
	return c, nil
}

// readEnv takes the Downward API values: positive integers, as runtimeinfo
// reads them.
func (c *Collector) readEnv(environ []string) {
	for i, name := range [...]string{
		runtimeinfo.EnvCPULimitMillis, runtimeinfo.EnvCPURequestMillis,
		runtimeinfo.EnvMemoryLimitBytes, runtimeinfo.EnvMemoryRequestBytes,
	} {
		s, ok := procfs.Getenv(environ, name)
		if !ok || s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			c.cfg.log().Warn("rightsize/prometheus: not a positive integer; ignored", "var", name, "value", s)
			continue
		}
		c.hasEnv[i] = true
		switch i {
		case 0:
			c.envCPU = float64(n) / 1000
		case 1:
			c.envCPUR = float64(n) / 1000
		case 2:
			c.envMem = n
		case 3:
			c.envMemR = n
		}
	}
}

// Close releases the cgroup handle. Scrapes after Close export the Go
// runtime settings and the info metric only.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.g == nil {
		return nil
	}
	err := c.g.Close()
	c.g = nil
	return err
}

// refresh reads every value into c.v. It must be called with c.mu held.
// On a warm handle, when nothing fails and the process has not moved, it
// allocates nothing. It returns the first failure (each names its file);
// the values that could be read are filled all the same.
func (c *Collector) refresh() error {
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	c.v = values{layout: cgroup.LayoutNone}
	v := &c.v
	v.gomaxprocs = runtime.GOMAXPROCS(0)
	v.gomemlimit = debug.SetMemoryLimit(-1)

	if c.supported && !c.closed {
		if c.g != nil && !c.reopen {
			if moved, err := c.g.Moved(); err != nil {
				fail(err)
			} else if moved {
				c.reopen = true
			}
		}
		if c.g == nil || c.reopen {
			if c.g != nil {
				c.g.Close()
				c.g = nil
			}
			g, err := cgroup.Open(cgroup.WithRoot(c.fsys.Root()))
			if err != nil {
				fail(err)
			} else {
				c.g = g
			}
			c.reopen = false
		}
	}

	v.cpus = c.baseCPUs
	if c.live {
		if n, ok := affinityCPUs(); ok {
			v.cpus = n
		}
	}
	if v.cpus <= 0 {
		v.cpus = runtime.NumCPU()
	}

	if g := c.g; g != nil {
		v.layout = g.Layout()
		if l, ok, err := g.CPULimit(); err != nil {
			fail(err)
		} else if ok {
			v.cpuLimit, v.hasCPULimit = l.CPUs, true
		}
		if c.kube {
			// Outside Kubernetes cpu.shares / cpu.weight is a relative
			// weight nobody asked for, not a request.
			if r, ok, err := g.CPURequest(); err != nil {
				fail(err)
			} else if ok {
				v.cpuRequest, v.hasCPURequest = r.CPUs(), true
			}
		}
		if n, ok, err := g.CPUSetCPUs(); err != nil {
			fail(err)
		} else if ok && n > 0 && n < v.cpus {
			v.cpus = n
		}
		if l, ok, err := g.MemoryLimit(); err != nil {
			fail(err)
		} else if ok {
			v.memLimit, v.hasMemLimit = l.Bytes, true
		}
		if l, ok, err := g.MemoryHigh(); err != nil {
			fail(err)
		} else if ok {
			v.memHigh, v.hasMemHigh = l.Bytes, true
		}
		if l, ok, err := g.PIDsLimit(); err != nil {
			fail(err)
		} else if ok {
			v.pidsLimit, v.hasPIDsLimit = l.Max, true
		}
		if err := g.ReadStats(&v.st); err != nil {
			fail(err)
		}
	}

	// The Downward API fills in where the cgroup shows no limit or could
	// not be read, as in runtimeinfo.Snapshot; a visible cgroup limit wins
	// because the environment goes stale after an in-place resize.
	if !v.hasCPULimit && c.hasEnv[0] {
		v.cpuLimit, v.hasCPULimit = c.envCPU, true
	}
	if !v.hasCPURequest && c.hasEnv[1] {
		v.cpuRequest, v.hasCPURequest = c.envCPUR, true
	}
	if !v.hasMemLimit && c.hasEnv[2] {
		v.memLimit, v.hasMemLimit = c.envMem, true
	}
	if c.hasEnv[3] {
		v.memRequest, v.hasMemRequest = c.envMemR, true
	}

	if first != nil {
		c.readErrs++
		// Rediscover before the next scrape: the cgroup may have gone
		// (the process was moved or its cgroup removed).
		c.reopen = true
	}
	c.logOutcome(first)
	return first
}

func (c *Collector) logOutcome(err error) {
	switch {
	case err != nil:
		if msg := err.Error(); msg != c.lastErr {
			c.lastErr = msg
			if l := c.cfg.log(); l != nil {
				l.Warn("rightsize/prometheus: cannot read a value; it is left out of the scrape", "err", msg)
			}
		}
	case c.lastErr != "":
		c.lastErr = ""
		if l := c.cfg.log(); l != nil {
			l.Info("rightsize/prometheus: reads recovered")
		}
	}
}

// Describe sends the descriptors of every metric the collector may export.
// A scrape leaves out a metric whose value does not exist (no limit, a
// controller that is not mounted).
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the current values and sends them.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	c.mu.Lock()
	_ = c.refresh() // logged and counted; the values read are sent
	v := c.v
	errs := c.readErrs
	c.mu.Unlock()

	gauge := func(d *prom.Desc, x float64) { ch <- prom.MustNewConstMetric(d, prom.GaugeValue, x) }
	counter := func(d *prom.Desc, x float64) { ch <- prom.MustNewConstMetric(d, prom.CounterValue, x) }

	if v.hasCPULimit {
		gauge(descCPULimit, v.cpuLimit)
	}
	if v.hasCPURequest {
		gauge(descCPURequest, v.cpuRequest)
	}
	gauge(descCPUsAllowed, float64(v.cpus))
	if v.st.CPU.HasUsage {
		counter(descCPUUsage, v.st.CPU.Usage.Seconds())
	}
	if v.st.CPU.HasThrottling {
		t := v.st.CPU.Throttling
		counter(descCPUPeriods, float64(t.Periods))
		counter(descCPUThrottledPeriods, float64(t.ThrottledPeriods))
		counter(descCPUThrottledSeconds, t.ThrottledTime.Seconds())
	}
	if v.hasMemLimit {
		gauge(descMemLimit, float64(v.memLimit))
	}
	if v.hasMemHigh {
		gauge(descMemHigh, float64(v.memHigh))
	}
	if v.hasMemRequest {
		gauge(descMemRequest, float64(v.memRequest))
	}
	if v.st.Memory.HasUsage {
		gauge(descMemUsage, float64(v.st.Memory.Usage))
	}
	if v.st.Memory.HasWorkingSet {
		gauge(descMemWorkingSet, float64(v.st.Memory.WorkingSet))
	}
	if v.st.PIDs.HasCurrent {
		gauge(descPIDsCurrent, float64(v.st.PIDs.Current))
	}
	if v.hasPIDsLimit {
		gauge(descPIDsLimit, float64(v.pidsLimit))
	}
	gauge(descGOMAXPROCS, float64(v.gomaxprocs))
	if v.gomemlimit != math.MaxInt64 {
		gauge(descGOMEMLIMIT, float64(v.gomemlimit))
	}
	qos := ""
	if c.env.Kubernetes != nil {
		qos = c.env.Kubernetes.QOSClass
	}
	ch <- prom.MustNewConstMetric(descInfo, prom.GaugeValue, 1,
		strconv.FormatBool(c.env.Container), c.env.Runtime, c.env.Orchestrator, qos, string(v.layout))
	counter(descReadErrors, float64(errs))
}
