package otel

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/rightsize/rightsize/cgroup"
	"github.com/rightsize/rightsize/detect"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Option configures Register.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	root      string
	logger    *slog.Logger
	loggerSet bool
	goMetrics bool
}

// defaultConfig holds every default in one place.
func defaultConfig() config {
	return config{
		root:      "/",  // the live system
		goMetrics: true, // go.processor.limit and go.memory.limit
	}
}

// WithRoot reads every file below dir instead of "/": a fixture tree or a
// captured system (runtimeinfo.WithRoot). With a root other than "/"
// nothing comes from the live process: the RIGHTSIZE_* Downward API
// variables are read from <dir>/proc/self/environ, the CPUs the process may
// run on from <dir>/proc/self/status and the environment (rightsize.info)
// from the tree. go.processor.limit and go.memory.limit are always this
// process's.
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) {
		if dir == "" {
			dir = "/"
		}
		c.root = dir
	})
}

// WithLogger sends the log lines to l; nil silences them. The default is
// slog.Default(), looked up at each line. A line is logged when a
// collection fails to read a value and the failure differs from the
// previous collection's (so a persistent failure logs once), and when reads
// recover; nothing when all is well.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger, c.loggerSet = l, true })
}

// WithoutGoMetrics leaves out go.processor.limit and go.memory.limit, for a
// program that already reports them through
// go.opentelemetry.io/contrib/instrumentation/runtime: two instruments of
// the same name from two scopes differ only in their scope, and a backend
// that does not keep the scope sees one series with two writers.
func WithoutGoMetrics() Option {
	return optionFunc(func(c *config) { c.goMetrics = false })
}

func (c *config) log() *slog.Logger {
	if c.loggerSet {
		return c.logger
	}
	return slog.Default()
}

// Registration is the instruments Register created and the callback that
// observes them. Unregister stops the observations and releases the
// cgroup descriptors. It is safe for concurrent use.
type Registration struct {
	cfg  config
	inst instruments
	reg  metric.Registration

	mu       sync.Mutex
	r        *runtimeinfo.Reader // nil after Unregister
	snap     runtimeinfo.Snapshot
	readErrs int64
	lastErr  string

	// Observe options, built once: passing a precomputed slice with ...
	// lets the SDK record a measurement with attributes without
	// allocating.
	pressureOpts [3][2][2][]metric.ObserveOption // resource, kind, scope
	info         map[cgroup.Layout][]metric.ObserveOption
	reaperOpts   map[string][]metric.ObserveOption // by mode
	signalOpts   [][]metric.ObserveOption
	eventOpts    [4][]metric.ObserveOption // in the order of memoryEvents
	env          detect.Env
}

type instruments struct {
	goProcs, goMemLimit metric.Int64ObservableUpDownCounter

	cpuTime                 metric.Float64ObservableCounter
	memUsage, memWorkingSet metric.Int64ObservableUpDownCounter

	cpuLimit, cpuRequest metric.Float64ObservableUpDownCounter
	cpuLeafLimit         metric.Float64ObservableUpDownCounter
	cpuAllowed           metric.Int64ObservableUpDownCounter
	cpuOtherCgroup       metric.Int64ObservableGauge
	periods, throttled   metric.Int64ObservableCounter
	throttledTime        metric.Float64ObservableCounter
	memLimit, memHigh    metric.Int64ObservableUpDownCounter
	memRequest, memHost  metric.Int64ObservableUpDownCounter
	memSwapLimit         metric.Int64ObservableUpDownCounter
	memPeak              metric.Int64ObservableGauge
	memEvents            metric.Int64ObservableCounter
	pidsUsage, pidsLimit metric.Int64ObservableUpDownCounter
	stalled              metric.Float64ObservableCounter
	info                 metric.Int64ObservableGauge
	readErrors           metric.Int64ObservableCounter

	nsProcesses, nsZombies    metric.Int64ObservableUpDownCounter
	children, zombieChildren  metric.Int64ObservableUpDownCounter
	threads, fds, fdLimit     metric.Int64ObservableUpDownCounter
	reaperActive              metric.Int64ObservableGauge
	reaperReaped, pressureSig metric.Int64ObservableCounter

	all []metric.Observable
}

// Register creates the instruments on a meter of mp (scope ScopeName,
// schema SchemaURL) and registers one callback that, at every collection,
// refreshes the values through a runtimeinfo.Reader and observes every
// instrument whose value exists. It opens the Reader on the process's
// cgroups (or those of the tree given with WithRoot), reading everything
// it offers (runtimeinfo.FieldAll).
//
// It fails only for a nil mp or an instrument or callback the meter
// refuses; what cannot be read (no cgroup found, a file that
// vanished) is left out of each collection, counted in
// rightsize.read_errors and logged, and the Reader discovers the cgroups
// again: at the next collection when a cgroup vanished or the process
// moved, after a backoff (1 s doubling to a minute) when discovery itself
// failed. Outside Linux the cgroup and process
// table instruments observe nothing, and go.processor.limit,
// go.memory.limit, rightsize.cpu.allowed, the Downward API values,
// rightsize.memory.pressure.signals and rightsize.info
// (layout "none") remain, with no read error.
//
// The environment (container, runtime, orchestrator, QoS class) and the
// RIGHTSIZE_* Downward API variables are read once here: they do not
// change while the process runs.
func Register(mp metric.MeterProvider, opts ...Option) (*Registration, error) {
	if mp == nil {
		return nil, errors.New("rightsize/otel: Register with a nil MeterProvider")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	meter := mp.Meter(ScopeName, metric.WithSchemaURL(SchemaURL))
	inst, err := newInstruments(meter, cfg.goMetrics)
	if err != nil {
		return nil, err
	}
	ropts := []runtimeinfo.Option{runtimeinfo.WithRoot(cfg.root), runtimeinfo.WithFields(runtimeinfo.FieldAll)}
	if cfg.loggerSet {
		ropts = append(ropts, runtimeinfo.WithLogger(cfg.logger))
	}
	r, err := runtimeinfo.NewReader(ropts...)
	if err != nil {
		return nil, err
	}
	g := &Registration{cfg: cfg, inst: inst, r: r, env: r.Environment()}
	g.precompute()
	g.reg, err = meter.RegisterCallback(g.callback, inst.all...)
	if err != nil {
		r.Close()
		return nil, err
	}
	return g, nil
}

// Unregister removes the callback and closes the Reader. The instruments
// stay with the meter (the OpenTelemetry API cannot remove them) but
// observe nothing from then on. It is safe to call more than once.
func (g *Registration) Unregister() error {
	if g == nil {
		return nil
	}
	var err error
	if g.reg != nil {
		err = g.reg.Unregister()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.r != nil {
		err = errors.Join(err, g.r.Close())
		g.r = nil
	}
	return err
}

func newInstruments(m metric.Meter, goMetrics bool) (instruments, error) {
	var (
		i    instruments
		errs []error
	)
	add := func(o metric.Observable, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		i.all = append(i.all, o)
	}
	i64udc := func(dst *metric.Int64ObservableUpDownCounter, name, unit, desc string) {
		v, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		*dst = v
		add(v, err)
	}
	f64udc := func(dst *metric.Float64ObservableUpDownCounter, name, unit, desc string) {
		v, err := m.Float64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		*dst = v
		add(v, err)
	}
	i64c := func(dst *metric.Int64ObservableCounter, name, unit, desc string) {
		v, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		*dst = v
		add(v, err)
	}
	f64c := func(dst *metric.Float64ObservableCounter, name, unit, desc string) {
		v, err := m.Float64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		*dst = v
		add(v, err)
	}
	i64g := func(dst *metric.Int64ObservableGauge, name, unit, desc string) {
		v, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		*dst = v
		add(v, err)
	}

	if goMetrics {
		// Briefs of the semantic conventions.
		i64udc(&i.goProcs, MetricGoProcessorLimit, "{thread}",
			"The number of OS threads that can execute user-level Go code simultaneously.")
		i64udc(&i.goMemLimit, MetricGoMemoryLimit, "By",
			"Go runtime memory limit configured by the user, if a limit exists.")
	}
	f64c(&i.cpuTime, MetricContainerCPUTime, "s",
		"Total CPU time consumed.")
	i64udc(&i.memUsage, MetricContainerMemoryUsage, "By",
		"Memory usage of the container.")
	i64udc(&i.memWorkingSet, MetricContainerMemoryWorkingSet, "By",
		"Container memory working set.")

	f64udc(&i.cpuLimit, MetricCPULimit, "{cpu}",
		"Effective CPU limit in CPUs: the smallest CFS quota/period over the process's cgroup and its ancestors, or RIGHTSIZE_CPU_LIMIT_MILLIS where the cgroup shows none. Absent without a limit.")
	f64udc(&i.cpuLeafLimit, MetricCPULeafLimit, "{cpu}",
		"CPU limit in CPUs of the process's own cgroup alone (its CFS quota/period), which is what the Go runtime (1.25+) and automaxprocs read; above "+MetricCPULimit+" when an ancestor (a pod-level quota, say) is tighter. Absent when the process's own cgroup has no quota.")
	f64udc(&i.cpuRequest, MetricCPURequest, "{cpu}",
		"CPU request in CPUs: in Kubernetes recovered from the kubelet's cpu.shares or cpu.weight of the process's cgroup (approximate on cgroup v2), else RIGHTSIZE_CPU_REQUEST_MILLIS. Absent when unknown.")
	i64udc(&i.cpuAllowed, MetricCPUAllowed, "{cpu}",
		"Number of CPUs the process may run on: its affinity mask, bounded by the cgroup cpuset.")
	i64g(&i.cpuOtherCgroup, MetricCPUTimeOtherCgroup, "",
		"1 when "+MetricContainerCPUTime+" is read from another cgroup than the one whose CPU limit applies (cgroup v1 with the cpu and cpuacct controllers mounted apart and the process in different cgroups of the two), else 0. Present with "+MetricContainerCPUTime+".")
	i64c(&i.periods, MetricCPUThrottlingPeriods, "{period}",
		"CFS enforcement periods that elapsed with runnable tasks in the process's cgroup (cpu.stat nr_periods).")
	i64c(&i.throttled, MetricCPUThrottledPeriods, "{period}",
		"CFS enforcement periods in which the process's cgroup was throttled (cpu.stat nr_throttled).")
	f64c(&i.throttledTime, MetricCPUThrottledTime, "s",
		"Total time tasks of the process's cgroup were throttled (cpu.stat throttled_time or throttled_usec).")
	i64udc(&i.memLimit, MetricMemoryLimit, "By",
		"Effective hard memory limit: the smallest memory.max or memory.limit_in_bytes over the process's cgroup and its ancestors, or RIGHTSIZE_MEMORY_LIMIT_BYTES where the cgroup shows none. Absent without a limit.")
	i64udc(&i.memHigh, MetricMemoryHigh, "By",
		"Smallest cgroup v2 memory.high (throttle and reclaim threshold) over the process's cgroup and its ancestors. Absent on v1 and without one.")
	i64udc(&i.memRequest, MetricMemoryRequest, "By",
		"Memory request from RIGHTSIZE_MEMORY_REQUEST_BYTES (the Downward API). Absent when unset.")
	i64udc(&i.memHost, MetricMemoryHost, "By",
		"Memory of the host (MemTotal in /proc/meminfo).")
	i64g(&i.memPeak, MetricMemoryPeak, "By",
		"Highest memory usage of the process's cgroup since it was created (memory.peak, cgroup v2 on Linux 5.19+; memory.max_usage_in_bytes on v1). Absent where the kernel has no such file.")
	i64udc(&i.memSwapLimit, MetricMemorySwapLimit, "By",
		"Swap the process's cgroup may use beyond its memory limit: the smallest memory.swap.max over the hierarchy (v2), or memory.memsw.limit_in_bytes minus memory.limit_in_bytes (v1). Absent when unlimited or when swap is not accounted.")
	i64c(&i.memEvents, MetricMemoryEvents, "{event}",
		"Memory limit events of the process's cgroup and its descendants, by event as the kernel's memory.events names them: high (reclaim forced past memory.high), max (usage about to pass memory.max), oom (the cgroup ran out of memory), oom_kill (processes the OOM killer killed in it). On cgroup v1, max is memory.failcnt, oom and oom_kill are memory.oom_control's oom_kill and high is 0. Absent without the memory controller's files.")
	i64udc(&i.pidsUsage, MetricPIDsUsage, "{task}",
		"Number of tasks (processes and threads) in the process's cgroup and its descendants (pids.current).")
	i64udc(&i.pidsLimit, MetricPIDsLimit, "{task}",
		"Smallest pids.max over the process's cgroup and its ancestors. Absent without a limit.")
	f64c(&i.stalled, MetricPressureStalledTime, "s",
		"Total time in which some (kind some) or all (kind full) non-idle tasks stalled on the resource (the PSI total of cpu.pressure, memory.pressure or io.pressure). Scope container: the process's cgroup v2; scope host: every task on the host. Absent without PSI.")
	i64g(&i.info, MetricInfo, "",
		"Environment of the process as rightsize detects it, in the attributes; the value is always 1.")
	i64c(&i.readErrors, MetricReadErrors, "{collection}",
		"Collections in which one or more values could not be read (those values were left out).")

	// Briefs of the semantic conventions.
	i64udc(&i.threads, MetricProcessThreadCount, "{thread}",
		"Process threads count.")
	i64udc(&i.fds, MetricProcessFileDescriptorCount, "{file_descriptor}",
		"Number of UNIX file descriptors in use by the process.")

	i64udc(&i.nsProcesses, MetricPIDNamespaceProcessCount, "{process}",
		"Processes in the PID namespace that /proc shows: the container's own, or the host's outside a container (with WithRoot, the captured tree's).")
	i64udc(&i.nsZombies, MetricPIDNamespaceZombieCount, "{process}",
		"Processes of the PID namespace that have exited and wait to be reaped by their parent; each counts in pids.current.")
	i64udc(&i.children, MetricProcessChildCount, "{process}",
		"Children of the process; for PID 1 they include the orphans it adopted.")
	i64udc(&i.zombieChildren, MetricProcessZombieChildCount, "{process}",
		"Children of the process that have exited and wait to be reaped by it.")
	i64udc(&i.fdLimit, MetricProcessFileDescriptorLimit, "{file_descriptor}",
		"Soft RLIMIT_NOFILE of the process: a descriptor can be opened while "+MetricProcessFileDescriptorCount+" is below it. Absent when unlimited.")
	i64g(&i.reaperActive, MetricReaperActive, "",
		"1 when this process reaps orphaned zombies (package reaper, started by the blank import in PID 1 of a container), else 0; the mode is an attribute. Absent with WithRoot.")
	i64c(&i.reaperReaped, MetricReaperReaped, "{process}",
		"Zombie processes reaped by this process's reaper. Absent with WithRoot.")
	i64c(&i.pressureSig, MetricMemoryPressureSignals, "{signal}",
		"Memory pressure signals that began in this process (runtimeinfo.PressureSignals, from every watcher), by cause. Always this process's, with WithRoot too.")
	return i, errors.Join(errs...)
}

// The values of the pressure attributes, in the order of pressureOpts.
var (
	pressureResources = [3]string{"cpu", "memory", "io"}
	pressureKinds     = [2]string{"some", "full"}
	pressureScopes    = [2]string{"container", "host"}
)

// pressureCauses are the values of rightsize.memory.pressure.cause, in the
// order of signalOpts: every one is observed at every collection.
var pressureCauses = runtimeinfo.PressureCauses()

// memoryEvents are the values of rightsize.memory.event, in the order of
// eventOpts and of the fields of cgroup.MemoryEvents.
var memoryEvents = [4]string{"high", "max", "oom", "oom_kill"}

// reaperModes are the modes of package reaper.
var reaperModes = [...]string{"off", "orphans", "all"}

// precompute builds every attribute set and observe option slice the
// callback uses.
func (g *Registration) precompute() {
	for r, res := range pressureResources {
		for k, kind := range pressureKinds {
			for s, scope := range pressureScopes {
				set := attribute.NewSet(
					attribute.String(AttrPressureResource, res),
					attribute.String(AttrPressureKind, kind),
					attribute.String(AttrPressureScope, scope))
				g.pressureOpts[r][k][s] = []metric.ObserveOption{metric.WithAttributeSet(set)}
			}
		}
	}
	g.info = map[cgroup.Layout][]metric.ObserveOption{}
	for _, l := range []cgroup.Layout{cgroup.LayoutNone, cgroup.LayoutV1, cgroup.LayoutV2, cgroup.LayoutHybrid} {
		g.info[l] = g.infoOpts(l)
	}
	g.reaperOpts = map[string][]metric.ObserveOption{}
	for _, m := range reaperModes {
		g.reaperOpts[m] = reaperOpts(m)
	}
	for e, event := range memoryEvents {
		g.eventOpts[e] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String(AttrMemoryEvent, event)))}
	}
	g.signalOpts = make([][]metric.ObserveOption, len(pressureCauses))
	for c, cause := range pressureCauses {
		g.signalOpts[c] = []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String(AttrPressureCause, string(cause))))}
	}
}

func reaperOpts(mode string) []metric.ObserveOption {
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrReaperMode, mode)))}
}

// infoOpts builds the attributes of rightsize.info: empty strings are left
// out.
func (g *Registration) infoOpts(layout cgroup.Layout) []metric.ObserveOption {
	kv := []attribute.KeyValue{
		attribute.Bool(AttrContainerized, g.env.Container),
		attribute.String(AttrCgroupLayout, string(layout)),
	}
	str := func(k, v string) {
		if v != "" {
			kv = append(kv, attribute.String(k, v))
		}
	}
	str(AttrContainerRuntime, string(g.env.Runtime))
	str(AttrOrchestrator, string(g.env.Orchestrator))
	if g.env.HasKubernetes {
		str(AttrK8sQOSClass, string(g.env.Kubernetes.QOSClass))
	}
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// callback is the one callback registered: it refreshes the values once
// and observes every instrument. The SDK calls it once per collection and
// reader, possibly concurrently; g.mu serialises them. It allocates nothing
// when every read succeeds.
func (g *Registration) callback(_ context.Context, o metric.Observer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.r == nil {
		return nil // unregistered while a collection was under way
	}
	g.refresh()
	g.observe(o)
	return nil // read failures are in rightsize.read_errors and the log
}

// refresh reads the snapshot through the Reader. g.mu is held.
func (g *Registration) refresh() {
	_ = g.r.Read(&g.snap) // the errors are in g.snap.Errors
	failed := false
	for _, err := range g.snap.Errors {
		if counted(err) {
			failed = true
			break
		}
	}
	if failed {
		g.readErrs++
	}
	g.logOutcome(failed)
}

// counted reports whether a read error counts as one: outside Linux there
// are no cgroups to read, which is no failure.
func counted(err error) bool { return !errors.Is(err, cgroup.ErrNotSupported) }

func (g *Registration) logOutcome(failed bool) {
	switch {
	case failed:
		var b strings.Builder
		for _, err := range g.snap.Errors {
			if counted(err) {
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(err.Error())
			}
		}
		if msg := b.String(); msg != g.lastErr {
			g.lastErr = msg
			if l := g.cfg.log(); l != nil {
				l.Warn("rightsize/otel: cannot read a value; it is left out of the collection", "err", msg)
			}
		}
	case g.lastErr != "":
		g.lastErr = ""
		if l := g.cfg.log(); l != nil {
			l.Info("rightsize/otel: reads recovered")
		}
	}
}

// observe observes every instrument whose value exists: "no limit" is no
// data point, never a magic number. g.mu is held.
func (g *Registration) observe(o metric.Observer) {
	i, s := &g.inst, &g.snap
	if g.cfg.goMetrics {
		o.ObserveInt64(i.goProcs, int64(runtime.GOMAXPROCS(0)))
		if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
			o.ObserveInt64(i.goMemLimit, n)
		}
	}
	if s.HasCPULimit {
		o.ObserveFloat64(i.cpuLimit, s.CPULimit.CPUs)
	}
	if s.HasLeafCPULimit {
		o.ObserveFloat64(i.cpuLeafLimit, s.LeafCPULimit.CPUs)
	}
	if s.HasCPURequest {
		o.ObserveFloat64(i.cpuRequest, s.CPURequest.CPUs)
	}
	if s.CPUs.N > 0 {
		o.ObserveInt64(i.cpuAllowed, s.CPUs.N)
	}
	st := &s.Stats
	if st.CPU.HasUsage {
		o.ObserveFloat64(i.cpuTime, st.CPU.Usage.Seconds())
		var other int64
		if s.CPUUsageElsewhere {
			other = 1
		}
		o.ObserveInt64(i.cpuOtherCgroup, other)
	}
	if st.CPU.HasThrottling {
		t := &st.CPU.Throttling
		o.ObserveInt64(i.periods, sat(t.Periods))
		o.ObserveInt64(i.throttled, sat(t.ThrottledPeriods))
		o.ObserveFloat64(i.throttledTime, t.ThrottledTime.Seconds())
	}
	if s.HasMemoryLimit {
		o.ObserveInt64(i.memLimit, s.MemoryLimit.Bytes)
	}
	if s.HasMemoryHigh {
		o.ObserveInt64(i.memHigh, s.MemoryHigh.Bytes)
	}
	if s.HasMemoryRequest {
		o.ObserveInt64(i.memRequest, s.MemoryRequest.Bytes)
	}
	if s.HasHostMemory {
		o.ObserveInt64(i.memHost, s.HostMemory.Bytes)
	}
	if st.Memory.HasUsage {
		o.ObserveInt64(i.memUsage, st.Memory.Usage)
	}
	if st.Memory.HasWorkingSet {
		o.ObserveInt64(i.memWorkingSet, st.Memory.WorkingSet)
	}
	if st.Memory.HasPeak {
		o.ObserveInt64(i.memPeak, st.Memory.Peak)
	}
	if s.HasSwapLimit {
		o.ObserveInt64(i.memSwapLimit, s.SwapLimit.Bytes)
	}
	if st.Memory.HasEvents {
		e := &st.Memory.Events
		for k, n := range [4]uint64{e.High, e.Max, e.OOM, e.OOMKill} {
			o.ObserveInt64(i.memEvents, sat(n), g.eventOpts[k]...)
		}
	}
	if st.PIDs.HasCurrent {
		o.ObserveInt64(i.pidsUsage, st.PIDs.Current)
	}
	if s.HasPIDsLimit {
		o.ObserveInt64(i.pidsLimit, s.PIDsLimit.N)
	}
	p := &st.Pressure
	scope := 0
	if p.HostWide {
		scope = 1
	}
	for r, psi := range [3]*cgroup.PSI{&p.CPU, &p.Memory, &p.IO} {
		if !([3]bool{p.HasCPU, p.HasMemory, p.HasIO})[r] {
			continue
		}
		o.ObserveFloat64(i.stalled, psi.Some.Total.Seconds(), g.pressureOpts[r][0][scope]...)
		if psi.HasFull {
			o.ObserveFloat64(i.stalled, psi.Full.Total.Seconds(), g.pressureOpts[r][1][scope]...)
		}
	}
	g.observeProcesses(o)
	info, ok := g.info[s.Layout]
	if !ok { // a layout this package does not know yet: built once
		info = g.infoOpts(s.Layout)
		g.info[s.Layout] = info
	}
	o.ObserveInt64(i.info, 1, info...)
	o.ObserveInt64(i.readErrors, g.readErrs)
	// This process's, whatever the root: every cause at every collection.
	for c, cause := range pressureCauses {
		o.ObserveInt64(i.pressureSig, sat(runtimeinfo.PressureSignals(cause)), g.signalOpts[c]...)
	}
}

// observeProcesses observes the process table and the reaper's state.
// Each value has its own Has flag: a part of the table that could not be
// read is absent alone. g.mu is held.
func (g *Registration) observeProcesses(o metric.Observer) {
	i, t := &g.inst, &g.snap.ProcessTable
	if t.HasProcesses {
		o.ObserveInt64(i.nsProcesses, int64(t.Processes))
		o.ObserveInt64(i.nsZombies, int64(t.Zombies))
	}
	if t.HasChildren {
		o.ObserveInt64(i.children, int64(t.Children))
		o.ObserveInt64(i.zombieChildren, int64(t.ZombieChildren))
	}
	if t.HasThreads {
		o.ObserveInt64(i.threads, int64(t.Threads))
	}
	if t.HasFDs {
		o.ObserveInt64(i.fds, int64(t.FDs))
	}
	if t.HasFDLimit && t.FDLimit.Soft != procfs.Unlimited {
		o.ObserveInt64(i.fdLimit, sat(t.FDLimit.Soft))
	}
	// The Reader fills the reaper's state for the live process only.
	r := &g.snap.Reaper
	if r.Mode == "" {
		return
	}
	opts, ok := g.reaperOpts[r.Mode]
	if !ok { // a mode this package does not know yet: built once
		opts = reaperOpts(r.Mode)
		g.reaperOpts[r.Mode] = opts
	}
	var active int64
	if r.Active {
		active = 1
	}
	o.ObserveInt64(i.reaperActive, active, opts...)
	o.ObserveInt64(i.reaperReaped, sat(r.Reaped))
}

// sat converts a kernel counter to int64, saturating (a counter past 2⁶³
// is not seen in practice).
func sat(n uint64) int64 {
	if n > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n)
}
