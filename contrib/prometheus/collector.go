package prometheus

import (
	"errors"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
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
// captured system (runtimeinfo.WithRoot). With a root other than "/"
// nothing comes from the live process: the RIGHTSIZE_* Downward API
// variables are read from <dir>/proc/self/environ, the CPUs the process may
// run on from <dir>/proc/self/status and the environment (info metric) from
// the tree. GOMAXPROCS and GOMEMLIMIT are always this process's.
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
// container: limits, requests, usage, throttling and pressure, the
// process's share of the process table (zombies, children, threads, open
// descriptors) and its zombie reaper, the memory pressure signals fired,
// the GOMAXPROCS and GOMEMLIMIT in force, and an info metric describing
// the environment. Register it with a prometheus.Registerer.
//
// It reads through one runtimeinfo.Reader, the reader behind rightsize's
// own decisions, the rightsize command and rightsizeexpvar: every value it
// exports is the one they see. Each scrape refreshes a snapshot the
// collector owns through the Reader's open descriptors, allocating nothing
// for the reads.
//
// A Collector is safe for concurrent use; concurrent scrapes are
// serialised. Close releases the Reader's descriptors.
type Collector struct {
	cfg config
	env detect.Env // detected once by the Reader

	mu         sync.Mutex
	r          *runtimeinfo.Reader // nil after Close
	snap       runtimeinfo.Snapshot
	gomaxprocs int
	gomemlimit int64
	readErrs   uint64
	lastErr    string
}

// NewCollector opens a runtimeinfo.Reader on the process's cgroups (or
// those of the tree given with WithRoot), reading everything it offers
// (runtimeinfo.FieldAll), and returns a collector that refreshes it on every
// scrape. It fails only for an invalid option: what cannot be read (no
// cgroup found, a file that vanished) is left out of each scrape, counted in
// rightsize_read_errors_total and logged, and the Reader discovers the
// cgroups again: at the next scrape when a cgroup vanished or the process
// moved, after a backoff (1 s doubling to a minute) when discovery itself
// failed. Outside Linux the cgroup metrics
// are absent and GOMAXPROCS, GOMEMLIMIT, the CPUs the process may run on,
// the Downward API values and the info metric (cgroup_layout "none")
// remain, with no read error.
//
// The environment (container, runtime, orchestrator, QoS class) and the
// RIGHTSIZE_* Downward API variables are read once here: they do not
// change while the process runs.
func NewCollector(opts ...Option) (*Collector, error) {
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	ropts := []runtimeinfo.Option{runtimeinfo.WithRoot(cfg.root), runtimeinfo.WithFields(runtimeinfo.FieldAll)}
	if cfg.loggerSet {
		ropts = append(ropts, runtimeinfo.WithLogger(cfg.logger))
	}
	r, err := runtimeinfo.NewReader(ropts...)
	if err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, r: r, env: r.Environment()}, nil
}

// Close releases the Reader. Scrapes after Close export GOMAXPROCS,
// GOMEMLIMIT, the info metric, the read error count and the memory
// pressure signal counts only.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r == nil {
		return nil
	}
	err := c.r.Close()
	c.r = nil
	return err
}

// refresh reads every value: the snapshot through the Reader, and the Go
// runtime's settings. c.mu is held. When every read succeeds and the
// process has not moved, it allocates nothing.
func (c *Collector) refresh() {
	c.gomaxprocs = runtime.GOMAXPROCS(0)
	c.gomemlimit = debug.SetMemoryLimit(-1)
	if c.r == nil {
		return
	}
	_ = c.r.Read(&c.snap) // the errors are in c.snap.Errors
	failed := false
	for _, err := range c.snap.Errors {
		if counted(err) {
			failed = true
			break
		}
	}
	if failed {
		c.readErrs++
	}
	c.logOutcome(failed)
}

// counted reports whether a read error counts as one: outside Linux there
// are no cgroups to read, which is no failure.
func counted(err error) bool { return !errors.Is(err, cgroup.ErrNotSupported) }

func (c *Collector) logOutcome(failed bool) {
	switch {
	case failed:
		var b strings.Builder
		for _, err := range c.snap.Errors {
			if counted(err) {
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(err.Error())
			}
		}
		if msg := b.String(); msg != c.lastErr {
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

// pressureResources pairs the pressure label values with the stats.
var pressureResources = [3]string{"cpu", "memory", "io"}

// Collect reads the current values and sends them.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	c.mu.Lock()
	c.refresh()
	open := c.r != nil
	s := c.snap // its Errors are the Reader's to reuse: not read below
	procs, memlimit, errs := c.gomaxprocs, c.gomemlimit, c.readErrs
	c.mu.Unlock()

	gauge := func(d *prom.Desc, x float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.GaugeValue, x, labels...)
	}
	counter := func(d *prom.Desc, x float64, labels ...string) {
		ch <- prom.MustNewConstMetric(d, prom.CounterValue, x, labels...)
	}

	layout := cgroup.LayoutNone
	if open {
		layout = s.Layout
		c.collectSnapshot(&s, gauge, counter)
	}
	gauge(descGOMAXPROCS, float64(procs))
	if memlimit != math.MaxInt64 {
		gauge(descGOMEMLIMIT, float64(memlimit))
	}
	qos := ""
	if c.env.HasKubernetes {
		qos = string(c.env.Kubernetes.QOSClass)
	}
	gauge(descInfo, 1, strconv.FormatBool(c.env.Container), string(c.env.Runtime), string(c.env.Orchestrator), qos, string(layout))
	counter(descReadErrors, float64(errs))
	// This process's, whatever the root, and after Close too: every cause
	// at every scrape, so that rate() and increase() see the first one.
	for _, cause := range pressureCauses {
		counter(descPressureSignals, float64(runtimeinfo.PressureSignals(cause)), string(cause))
	}
}

type sendFunc func(d *prom.Desc, x float64, labels ...string)

// collectSnapshot sends the values of a snapshot. Absent values send
// nothing: "no limit" is no sample, never a magic number.
func (c *Collector) collectSnapshot(s *runtimeinfo.Snapshot, gauge, counter sendFunc) {
	if s.HasCPULimit {
		gauge(descCPULimit, s.CPULimit.CPUs)
	}
	if s.HasLeafCPULimit {
		gauge(descCPULeafLimit, s.LeafCPULimit.CPUs)
	}
	if s.HasCPURequest {
		gauge(descCPURequest, s.CPURequest.CPUs)
	}
	if s.CPUs.N > 0 {
		gauge(descCPUsAllowed, float64(s.CPUs.N))
	}
	st := &s.Stats
	if st.CPU.HasUsage {
		counter(descCPUUsage, st.CPU.Usage.Seconds())
		elsewhere := 0.0
		if s.CPUUsageElsewhere {
			elsewhere = 1
		}
		gauge(descCPUUsageOtherCgroup, elsewhere)
	}
	if st.CPU.HasThrottling {
		t := st.CPU.Throttling
		counter(descCPUPeriods, float64(t.Periods))
		counter(descCPUThrottledPeriods, float64(t.ThrottledPeriods))
		counter(descCPUThrottledSeconds, t.ThrottledTime.Seconds())
	}
	if s.HasMemoryLimit {
		gauge(descMemLimit, float64(s.MemoryLimit.Bytes))
	}
	if s.HasMemoryHigh {
		gauge(descMemHigh, float64(s.MemoryHigh.Bytes))
	}
	if s.HasMemoryRequest {
		gauge(descMemRequest, float64(s.MemoryRequest.Bytes))
	}
	if s.HasHostMemory {
		gauge(descMemHost, float64(s.HostMemory.Bytes))
	}
	if st.Memory.HasUsage {
		gauge(descMemUsage, float64(st.Memory.Usage))
	}
	if st.Memory.HasWorkingSet {
		gauge(descMemWorkingSet, float64(st.Memory.WorkingSet))
	}
	if st.Memory.HasPeak {
		gauge(descMemPeak, float64(st.Memory.Peak))
	}
	if s.HasSwapLimit {
		gauge(descMemSwapLimit, float64(s.SwapLimit.Bytes))
	}
	if st.Memory.HasEvents {
		e := &st.Memory.Events
		for i, n := range [4]uint64{e.High, e.Max, e.OOM, e.OOMKill} {
			counter(descMemEvents, float64(n), memoryEvents[i])
		}
	}
	if st.PIDs.HasCurrent {
		gauge(descPIDsCurrent, float64(st.PIDs.Current))
	}
	if s.HasPIDsLimit {
		gauge(descPIDsLimit, float64(s.PIDsLimit.N))
	}
	p := &st.Pressure
	scope := scopeContainer
	if p.HostWide {
		scope = scopeHost
	}
	for i, psi := range [3]*cgroup.PSI{&p.CPU, &p.Memory, &p.IO} {
		if !([3]bool{p.HasCPU, p.HasMemory, p.HasIO})[i] {
			continue
		}
		counter(descPressureStalled, psi.Some.Total.Seconds(), pressureResources[i], "some", scope)
		if psi.HasFull {
			counter(descPressureStalled, psi.Full.Total.Seconds(), pressureResources[i], "full", scope)
		}
	}
	collectProcesses(s, gauge, counter)
}

// collectProcesses sends the process table and the reaper's state. Each
// value has its own Has flag: a part of the table that could not be read
// (no /proc to scan, a captured tree without limits) is absent alone.
func collectProcesses(s *runtimeinfo.Snapshot, gauge, counter sendFunc) {
	t := &s.ProcessTable
	if t.HasProcesses {
		gauge(descPIDNamespaceProcesses, float64(t.Processes))
		gauge(descPIDNamespaceZombies, float64(t.Zombies))
	}
	if t.HasChildren {
		gauge(descProcessChildren, float64(t.Children))
		gauge(descProcessZombieChildren, float64(t.ZombieChildren))
	}
	if t.HasThreads {
		gauge(descProcessThreads, float64(t.Threads))
	}
	if t.HasFDs {
		gauge(descProcessOpenFDs, float64(t.FDs))
	}
	if t.HasFDLimit && t.FDLimit.Soft != procfs.Unlimited {
		gauge(descProcessMaxFDs, float64(t.FDLimit.Soft))
	}
	// The Reader fills the reaper's state for the live process only: a
	// captured tree has no reaper of this process's to show.
	if r := &s.Reaper; r.Mode != "" {
		active := 0.0
		if r.Active {
			active = 1
		}
		gauge(descReaperActive, active, r.Mode)
		counter(descReaperReaped, float64(r.Reaped))
	}
}
