// Package prometheus exports what rightsize sees as Prometheus metrics: the
// limits the kernel enforces on the process's container, its usage and CPU
// throttling, the GOMAXPROCS and GOMEMLIMIT in force, and the environment.
// Throttling and working set then sit next to the service's own request
// latency, instead of being visible only from the node (cAdvisor) to people
// with cluster access.
//
// It is a module of its own (github.com/rightsize/rightsize/contrib/prometheus)
// so that the rightsize library's module graph stays free of client_golang.
// Import it under another name to keep client_golang's package name free:
//
//	import rsprom "github.com/rightsize/rightsize/contrib/prometheus"
//
//	c, err := rsprom.NewCollector()
//	if err != nil { ... }
//	prometheus.MustRegister(c)
//
// # Metrics
//
//	name                                   type     unit / meaning
//	rightsize_cpu_limit_cores              gauge    effective CPU limit (hierarchy minimum, else RIGHTSIZE_CPU_LIMIT_MILLIS)
//	rightsize_cpu_request_cores            gauge    CPU request (Kubernetes: from cpu.shares/cpu.weight; else RIGHTSIZE_CPU_REQUEST_MILLIS)
//	rightsize_cpus_allowed                 gauge    CPUs the process may run on (affinity, bounded by the cpuset)
//	rightsize_cpu_usage_seconds_total      counter  CPU time of the cgroup
//	rightsize_cpu_periods_total            counter  CFS periods with runnable tasks (nr_periods)
//	rightsize_cpu_throttled_periods_total  counter  CFS periods throttled (nr_throttled)
//	rightsize_cpu_throttled_seconds_total  counter  time throttled
//	rightsize_memory_limit_bytes           gauge    effective hard limit (hierarchy minimum, else RIGHTSIZE_MEMORY_LIMIT_BYTES)
//	rightsize_memory_high_bytes            gauge    v2 memory.high (hierarchy minimum)
//	rightsize_memory_request_bytes         gauge    RIGHTSIZE_MEMORY_REQUEST_BYTES
//	rightsize_memory_usage_bytes           gauge    memory charged to the cgroup, page cache included
//	rightsize_memory_working_set_bytes     gauge    usage minus inactive file cache (what the kubelet evicts on)
//	rightsize_pids_current                 gauge    tasks in the cgroup
//	rightsize_pids_limit                   gauge    pids.max (hierarchy minimum)
//	rightsize_gomaxprocs                   gauge    GOMAXPROCS in force
//	rightsize_gomemlimit_bytes             gauge    GOMEMLIMIT in force
//	rightsize_info                         gauge    1, labels container, runtime, orchestrator, qos_class, cgroup_layout
//	rightsize_read_errors_total            counter  scrapes in which a value could not be read
//
// "Unlimited" is no sample, never a magic number: without a CPU quota there
// is no rightsize_cpu_limit_cores sample, without a memory limit no
// rightsize_memory_limit_bytes, and with GOMEMLIMIT unset (math.MaxInt64 in
// the runtime) no rightsize_gomemlimit_bytes. A value whose controller is
// not mounted (no pids controller, memory.high on cgroup v1) is likewise
// absent. Use absent() or "or vector(0)" in queries that must cope.
//
// Useful queries:
//
//	# share of CFS periods in which the container was throttled
//	rate(rightsize_cpu_throttled_periods_total[5m]) / rate(rightsize_cpu_periods_total[5m])
//	# CPU use against the limit
//	rate(rightsize_cpu_usage_seconds_total[5m]) / rightsize_cpu_limit_cores
//	# how close the working set is to the OOM killer
//	rightsize_memory_working_set_bytes / rightsize_memory_limit_bytes
//	# GOMAXPROCS above the CPU limit: throttling ahead
//	rightsize_gomaxprocs > ceil(rightsize_cpu_limit_cores)
//
// # Reading
//
// NewCollector discovers the cgroups once and keeps a handle on them. Each
// scrape re-reads the limit and usage files through that handle with pread
// into fixed buffers: no rediscovery, no allocation for the reads (the
// metrics sent to the registry are allocated by client_golang, as for
// every collector). Limits are re-read on every scrape, so an in-place
// resize shows at the next scrape. When the process has moved to another
// cgroup, or a read failed, the collector discovers the cgroups again
// before the next scrape. A value that cannot be read is left out of that
// scrape, rightsize_read_errors_total goes up, and one log line says which
// file failed (once per distinct failure; see WithLogger). A scrape never
// fails as a whole.
//
// The counters are the cgroup's, not the process's: in a container they
// cover every process in it, which is what its limits bind.
package prometheus
