package prometheus

import prom "github.com/prometheus/client_golang/prometheus"

// Metric names. They follow the Prometheus conventions: base units
// (seconds, bytes, cores), _total on counters, _info on the info metric.
const (
	MetricCPULimit            = "rightsize_cpu_limit_cores"
	MetricCPURequest          = "rightsize_cpu_request_cores"
	MetricCPUsAllowed         = "rightsize_cpus_allowed"
	MetricCPUUsage            = "rightsize_cpu_usage_seconds_total"
	MetricCPUPeriods          = "rightsize_cpu_periods_total"
	MetricCPUThrottledPeriods = "rightsize_cpu_throttled_periods_total"
	MetricCPUThrottledSeconds = "rightsize_cpu_throttled_seconds_total"
	MetricMemoryLimit         = "rightsize_memory_limit_bytes"
	MetricMemoryHigh          = "rightsize_memory_high_bytes"
	MetricMemoryRequest       = "rightsize_memory_request_bytes"
	MetricMemoryUsage         = "rightsize_memory_usage_bytes"
	MetricMemoryWorkingSet    = "rightsize_memory_working_set_bytes"
	MetricPIDsCurrent         = "rightsize_pids_current"
	MetricPIDsLimit           = "rightsize_pids_limit"
	MetricGOMAXPROCS          = "rightsize_gomaxprocs"
	MetricGOMEMLIMIT          = "rightsize_gomemlimit_bytes"
	MetricInfo                = "rightsize_info"
	MetricReadErrors          = "rightsize_read_errors_total"
)

// infoLabels are the labels of rightsize_info, in order.
var infoLabels = []string{"container", "runtime", "orchestrator", "qos_class", "cgroup_layout"}

var (
	descCPULimit = prom.NewDesc(MetricCPULimit,
		"Effective CPU limit in cores: the smallest CFS quota/period over the process's cgroup and its ancestors, or RIGHTSIZE_CPU_LIMIT_MILLIS where the cgroup shows none. Absent without a limit.", nil, nil)
	descCPURequest = prom.NewDesc(MetricCPURequest,
		"CPU request in cores: in Kubernetes recovered from cpu.shares or cpu.weight (approximate on cgroup v2), else RIGHTSIZE_CPU_REQUEST_MILLIS. Absent when unknown.", nil, nil)
	descCPUsAllowed = prom.NewDesc(MetricCPUsAllowed,
		"Number of CPUs the process may run on: its affinity mask, bounded by the cgroup cpuset.", nil, nil)
	descCPUUsage = prom.NewDesc(MetricCPUUsage,
		"CPU time consumed by the process's cgroup (cpuacct.usage or cpu.stat usage_usec), in seconds.", nil, nil)
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
	descMemUsage = prom.NewDesc(MetricMemoryUsage,
		"Memory charged to the process's cgroup, page cache included (memory.current or memory.usage_in_bytes).", nil, nil)
	descMemWorkingSet = prom.NewDesc(MetricMemoryWorkingSet,
		"Memory usage minus inactive file cache, what the kubelet evicts on.", nil, nil)
	descPIDsCurrent = prom.NewDesc(MetricPIDsCurrent,
		"Number of tasks (threads) in the process's cgroup and its descendants (pids.current).", nil, nil)
	descPIDsLimit = prom.NewDesc(MetricPIDsLimit,
		"Smallest pids.max over the process's cgroup and its ancestors. Absent without a limit.", nil, nil)
	descGOMAXPROCS = prom.NewDesc(MetricGOMAXPROCS,
		"GOMAXPROCS in force in this process.", nil, nil)
	descGOMEMLIMIT = prom.NewDesc(MetricGOMEMLIMIT,
		"GOMEMLIMIT (the Go runtime's soft memory limit) in force in this process. Absent when there is none.", nil, nil)
	descInfo = prom.NewDesc(MetricInfo,
		"Environment of the process as rightsize detects it; the value is always 1.", infoLabels, nil)
	descReadErrors = prom.NewDesc(MetricReadErrors,
		"Scrapes in which one or more values could not be read (those values were left out).", nil, nil)

	allDescs = []*prom.Desc{
		descCPULimit, descCPURequest, descCPUsAllowed, descCPUUsage, descCPUPeriods,
		descCPUThrottledPeriods, descCPUThrottledSeconds, descMemLimit, descMemHigh,
		descMemRequest, descMemUsage, descMemWorkingSet, descPIDsCurrent, descPIDsLimit,
		descGOMAXPROCS, descGOMEMLIMIT, descInfo, descReadErrors,
	}
)
