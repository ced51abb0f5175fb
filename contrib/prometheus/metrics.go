package prometheus

import (
	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/rightsize/rightsize/runtimeinfo"
)

// Metric names. They follow the Prometheus conventions: base units
// (seconds, bytes, cores), _total on counters, _info on the info metric.
const (
	MetricCPULimit            = "rightsize_cpu_limit_cores"
	MetricCPULeafLimit        = "rightsize_cpu_leaf_limit_cores"
	MetricCPURequest          = "rightsize_cpu_request_cores"
	MetricCPUsAllowed         = "rightsize_cpus_allowed"
	MetricCPUUsage            = "rightsize_cpu_usage_seconds_total"
	MetricCPUUsageOtherCgroup = "rightsize_cpu_usage_other_cgroup"
	MetricCPUPeriods          = "rightsize_cpu_periods_total"
	MetricCPUThrottledPeriods = "rightsize_cpu_throttled_periods_total"
	MetricCPUThrottledSeconds = "rightsize_cpu_throttled_seconds_total"
	MetricMemoryLimit         = "rightsize_memory_limit_bytes"
	MetricMemoryHigh          = "rightsize_memory_high_bytes"
	MetricMemoryRequest       = "rightsize_memory_request_bytes"
	MetricMemoryHost          = "rightsize_memory_host_bytes"
	MetricMemoryUsage         = "rightsize_memory_usage_bytes"
	MetricMemoryWorkingSet    = "rightsize_memory_working_set_bytes"
	MetricMemoryPeak          = "rightsize_memory_peak_bytes"
	MetricMemorySwapLimit     = "rightsize_memory_swap_limit_bytes"
	MetricMemoryEvents        = "rightsize_memory_events_total"
	MetricPIDsCurrent         = "rightsize_pids_current"
	MetricPIDsLimit           = "rightsize_pids_limit"
	MetricPressureStalled     = "rightsize_pressure_stalled_seconds_total"
	MetricGOMAXPROCS          = "rightsize_gomaxprocs"
	MetricGOMEMLIMIT          = "rightsize_gomemlimit_bytes"
	MetricInfo                = "rightsize_info"
	MetricReadErrors          = "rightsize_read_errors_total"

	// The process table (runtimeinfo.FieldProcesses): the PID namespace
	// /proc shows, and this process's children, threads and descriptors.
	MetricPIDNamespaceProcesses = "rightsize_pid_namespace_processes"
	MetricPIDNamespaceZombies   = "rightsize_pid_namespace_zombies"
	MetricProcessChildren       = "rightsize_process_children"
	MetricProcessZombieChildren = "rightsize_process_zombie_children"
	MetricProcessThreads        = "rightsize_process_threads"
	MetricProcessOpenFDs        = "rightsize_process_open_fds"
	MetricProcessMaxFDs         = "rightsize_process_max_fds"
	// The zombie reaper (package reaper) of this process.
	MetricReaperActive = "rightsize_reaper_active"
	MetricReaperReaped = "rightsize_reaper_reaped_total"
	// Memory pressure signals begun in this process
	// (runtimeinfo.PressureSignals).
	MetricMemoryPressureSignals = "rightsize_memory_pressure_signals_total"
)

// infoLabels are the labels of rightsize_info, in order.
var infoLabels = []string{"container", "runtime", "orchestrator", "qos_class", "cgroup_layout"}

// pressureLabels are the labels of rightsize_pressure_stalled_seconds_total,
// in order: resource ("cpu", "memory", "io"), kind ("some", "full") and
// scope (scopeContainer or scopeHost).
var pressureLabels = []string{"resource", "kind", "scope"}

// memoryEventLabels are the labels of rightsize_memory_events_total: the
// event, one of memoryEvents.
var memoryEventLabels = []string{"event"}

// memoryEvents are the values of the event label, named as in the kernel's
// memory.events.
var memoryEvents = [4]string{"high", "max", "oom", "oom_kill"}

// reaperLabels are the labels of rightsize_reaper_active: the reaper's
// mode ("off", "orphans", "all").
var reaperLabels = []string{"mode"}

// pressureSignalLabels are the labels of
// rightsize_memory_pressure_signals_total: the cause, one of
// pressureCauses.
var pressureSignalLabels = []string{"cause"}

// pressureCauses are the values of the cause label, every one exported at
// every scrape.
var pressureCauses = runtimeinfo.PressureCauses()

// The values of the pressure metric's scope label.
const (
	// scopeContainer: the process's own cgroup v2 pressure files.
	scopeContainer = "container"
	// scopeHost: every task on the host (/proc/pressure, or the root of
	// the v2 hierarchy where the process has no v2 cgroup of its own).
	scopeHost = "host"
)

var (
	descCPULimit = prom.NewDesc(MetricCPULimit,
		"Effective CPU limit in cores: the smallest CFS quota/period over the process's cgroup and its ancestors, or RIGHTSIZE_CPU_LIMIT_MILLIS where the cgroup shows none. Absent without a limit.", nil, nil)
	descCPULeafLimit = prom.NewDesc(MetricCPULeafLimit,
		"CPU limit in cores of the process's own cgroup alone (its CFS quota/period), which is what the Go runtime (1.25+) and automaxprocs read; above "+MetricCPULimit+" when an ancestor (a pod-level quota, say) is tighter. Absent when the process's own cgroup has no quota.", nil, nil)
	descCPURequest = prom.NewDesc(MetricCPURequest,
		"CPU request in cores: in Kubernetes recovered from the kubelet's cpu.shares or cpu.weight of the process's cgroup (approximate on cgroup v2), else RIGHTSIZE_CPU_REQUEST_MILLIS; outside Kubernetes a cgroup weight is no request. Absent when unknown.", nil, nil)
	descCPUsAllowed = prom.NewDesc(MetricCPUsAllowed,
		"Number of CPUs the process may run on: its affinity mask, bounded by the cgroup cpuset.", nil, nil)
	descCPUUsage = prom.NewDesc(MetricCPUUsage,
		"CPU time consumed by the process's cgroup (cpuacct.usage or cpu.stat usage_usec), in seconds.", nil, nil)
	descCPUUsageOtherCgroup = prom.NewDesc(MetricCPUUsageOtherCgroup,
		"1 when "+MetricCPUUsage+" is read from another cgroup than the one whose CPU limit applies (cgroup v1 with the cpu and cpuacct controllers mounted apart and the process in different cgroups of the two): usage and limit then cover different sets of tasks. 0 otherwise. Present with the usage.", nil, nil)
	descCPUPeriods = prom.NewDesc(MetricCPUPeriods,
		"CFS enforcement periods that elapsed with runnable tasks in the process's cgroup (cpu.stat nr_periods).", nil, nil)
	descCPUThrottledPeriods = prom.NewDesc(MetricCPUThrottledPeriods,
		"CFS enforcement periods in which the process's cgroup was throttled (cpu.stat nr_throttled).", nil, nil)
	descCPUThrottledSeconds = prom.NewDesc(MetricCPUThrottledSeconds,
		"Total time tasks of the process's cgroup were throttled (cpu.stat throttled_time or throttled_usec), in seconds.", nil, nil)
	descMemLimit = prom.NewDesc(MetricMemoryLimit,
		"Effective hard memory limit: the smallest memory.max or memory.limit_in_bytes over the process's cgroup and its ancestors, or RIGHTSIZE_MEMORY_LIMIT_BYTES where the cgroup shows none. Absent without a limit.", nil, nil)
	descMemHigh = prom.NewDesc(MetricMemoryHigh,
		"Smallest cgroup v2 memory.high (throttle and reclaim threshold) over the process's cgroup and its ancestors. Absent on v1 and without one.", nil, nil)
	descMemRequest = prom.NewDesc(MetricMemoryRequest,
		"Memory request from RIGHTSIZE_MEMORY_REQUEST_BYTES (the Downward API). Absent when unset.", nil, nil)
	descMemHost = prom.NewDesc(MetricMemoryHost,
		"Memory of the host: MemTotal of /proc/meminfo (sysinfo(2) on the live system; the captured tree's /proc/meminfo under WithRoot). A limit above it is capped at it. Absent when it cannot be read.", nil, nil)
	descMemUsage = prom.NewDesc(MetricMemoryUsage,
		"Memory charged to the process's cgroup, page cache included (memory.current or memory.usage_in_bytes).", nil, nil)
	descMemWorkingSet = prom.NewDesc(MetricMemoryWorkingSet,
		"Memory usage minus inactive file cache, what the kubelet evicts on.", nil, nil)
	descMemPeak = prom.NewDesc(MetricMemoryPeak,
		"Highest memory usage of the process's cgroup since it was created (memory.peak, cgroup v2 on Linux 5.19+; memory.max_usage_in_bytes on v1). Absent where the kernel has no such file.", nil, nil)
	descMemSwapLimit = prom.NewDesc(MetricMemorySwapLimit,
		"Swap the process's cgroup may use beyond its memory limit: the smallest memory.swap.max over the hierarchy (v2), or memory.memsw.limit_in_bytes minus memory.limit_in_bytes (v1). Absent when unlimited or when swap is not accounted.", nil, nil)
	descMemEvents = prom.NewDesc(MetricMemoryEvents,
		"Memory limit events of the process's cgroup and its descendants, by event as the kernel's memory.events names them: high (reclaim forced because usage passed memory.high), max (usage about to pass memory.max), oom (the cgroup ran out of memory), oom_kill (processes the OOM killer killed in it). On cgroup v1, max is memory.failcnt, oom and oom_kill are the oom_kill of memory.oom_control (Linux 4.13+) and high is 0. Absent without the memory controller's files.", memoryEventLabels, nil)
	descPIDsCurrent = prom.NewDesc(MetricPIDsCurrent,
		"Number of tasks (threads) in the process's cgroup and its descendants (pids.current).", nil, nil)
	descPIDsLimit = prom.NewDesc(MetricPIDsLimit,
		"Smallest pids.max over the process's cgroup and its ancestors. Absent without a limit.", nil, nil)
	descPressureStalled = prom.NewDesc(MetricPressureStalled,
		"Total time in which some (kind=some) or all (kind=full) non-idle tasks stalled on the resource (the PSI total of cpu.pressure, memory.pressure or io.pressure), in seconds. scope=container: the process's cgroup v2; scope=host: every task on the host (/proc/pressure, or the root of the v2 hierarchy). Absent without PSI.", pressureLabels, nil)
	descPIDNamespaceProcesses = prom.NewDesc(MetricPIDNamespaceProcesses,
		"Processes in the PID namespace that /proc shows: the container's own, or the host's outside a container (under WithRoot, the captured tree's). Each holds a PID until it is reaped.", nil, nil)
	descPIDNamespaceZombies = prom.NewDesc(MetricPIDNamespaceZombies,
		"Processes of the PID namespace (as "+MetricPIDNamespaceProcesses+") that have exited and wait to be reaped by their parent. Each counts in pids.current; in a container without an init they are orphans that only PID 1 can reap.", nil, nil)
	descProcessChildren = prom.NewDesc(MetricProcessChildren,
		"Children of this process (under WithRoot, of the captured process); for PID 1 they include the orphans it adopted.", nil, nil)
	descProcessZombieChildren = prom.NewDesc(MetricProcessZombieChildren,
		"Children of this process (under WithRoot, of the captured process) that have exited and wait to be reaped by it.", nil, nil)
	descProcessThreads = prom.NewDesc(MetricProcessThreads,
		"Threads of this process (under WithRoot, of the captured process); each counts in pids.current.", nil, nil)
	descProcessOpenFDs = prom.NewDesc(MetricProcessOpenFDs,
		"Open file descriptors of this process (under WithRoot, of the captured process), the four /proc directories the collector keeps open to count them left out (process_open_fds of the process collector counts them, and the one it opens).", nil, nil)
	descProcessMaxFDs = prom.NewDesc(MetricProcessMaxFDs,
		"Soft RLIMIT_NOFILE of this process (under WithRoot, the captured process's \"Max open files\"): a descriptor can be opened while "+MetricProcessOpenFDs+" is below it. Absent when unlimited.", nil, nil)
	descReaperActive = prom.NewDesc(MetricReaperActive,
		"1 when this process reaps orphaned zombies (package reaper, started by the blank import in PID 1 of a container), else 0; label mode: off, orphans or all. Absent under WithRoot.", reaperLabels, nil)
	descReaperReaped = prom.NewDesc(MetricReaperReaped,
		"Zombie processes reaped by this process's reaper. Absent under WithRoot.", nil, nil)
	descPressureSignals = prom.NewDesc(MetricMemoryPressureSignals,
		"Memory pressure signals that began in this process (runtimeinfo.PressureSignals, from every watcher), by cause (every runtimeinfo.PressureCauses value): heap (the live heap reached a share of GOMEMLIMIT), working-set (the working set crossed a share of the limit), high (memory.events high grew), max (memory.events max or memory.failcnt grew), psi (memory some avg10 crossed a threshold). Always this process's, under WithRoot too.", pressureSignalLabels, nil)
	descGOMAXPROCS = prom.NewDesc(MetricGOMAXPROCS,
		"GOMAXPROCS in force in this process (the same as the Go collector's go_sched_gomaxprocs_threads).", nil, nil)
	descGOMEMLIMIT = prom.NewDesc(MetricGOMEMLIMIT,
		"GOMEMLIMIT (the Go runtime's soft memory limit) in force in this process. Absent when there is none (where the Go collector's go_gc_gomemlimit_bytes shows math.MaxInt64).", nil, nil)
	descInfo = prom.NewDesc(MetricInfo,
		"Environment of the process as rightsize detects it; the value is always 1.", infoLabels, nil)
	descReadErrors = prom.NewDesc(MetricReadErrors,
		"Scrapes in which one or more values could not be read (those values were left out).", nil, nil)

	allDescs = []*prom.Desc{
		descCPULimit, descCPULeafLimit, descCPURequest, descCPUsAllowed, descCPUUsage, descCPUUsageOtherCgroup,
		descCPUPeriods, descCPUThrottledPeriods, descCPUThrottledSeconds, descMemLimit,
		descMemHigh, descMemRequest, descMemHost, descMemUsage, descMemWorkingSet, descMemPeak,
		descMemSwapLimit, descMemEvents, descPIDsCurrent,
		descPIDsLimit, descPressureStalled, descPIDNamespaceProcesses, descPIDNamespaceZombies,
		descProcessChildren, descProcessZombieChildren, descProcessThreads, descProcessOpenFDs,
		descProcessMaxFDs, descReaperActive, descReaperReaped, descPressureSignals,
		descGOMAXPROCS, descGOMEMLIMIT, descInfo, descReadErrors,
	}
)
