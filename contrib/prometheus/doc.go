// Package prometheus exports what rightsize sees as Prometheus metrics: the
// limits the kernel enforces on the process's container, its usage and CPU
// throttling, the process's share of the process table (zombies, threads,
// open descriptors) and its zombie reaper, the memory pressure signals
// fired, the GOMAXPROCS and GOMEMLIMIT in force, and the environment.
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
//	name                                      type     unit / meaning
//	rightsize_cpu_limit_cores                 gauge    effective CPU limit (hierarchy minimum, else RIGHTSIZE_CPU_LIMIT_MILLIS)
//	rightsize_cpu_leaf_limit_cores            gauge    CPU limit of the process's own cgroup alone (what the Go runtime and automaxprocs read)
//	rightsize_cpu_request_cores               gauge    CPU request (in Kubernetes from cpu.shares/cpu.weight, else RIGHTSIZE_CPU_REQUEST_MILLIS)
//	rightsize_cpus_allowed                    gauge    CPUs the process may run on (affinity, bounded by the cpuset)
//	rightsize_cpu_usage_seconds_total         counter  CPU time of the cgroup
//	rightsize_cpu_usage_other_cgroup          gauge    1 when that usage is read from another cgroup than the CPU limit's, else 0
//	rightsize_cpu_periods_total               counter  CFS periods with runnable tasks (nr_periods)
//	rightsize_cpu_throttled_periods_total     counter  CFS periods throttled (nr_throttled)
//	rightsize_cpu_throttled_seconds_total     counter  time throttled
//	rightsize_memory_limit_bytes              gauge    effective hard limit (hierarchy minimum, else RIGHTSIZE_MEMORY_LIMIT_BYTES)
//	rightsize_memory_high_bytes               gauge    v2 memory.high (hierarchy minimum)
//	rightsize_memory_request_bytes            gauge    RIGHTSIZE_MEMORY_REQUEST_BYTES
//	rightsize_memory_host_bytes               gauge    the host's memory (MemTotal)
//	rightsize_memory_usage_bytes              gauge    memory charged to the cgroup, page cache included
//	rightsize_memory_working_set_bytes        gauge    usage minus inactive file cache (what the kubelet evicts on)
//	rightsize_memory_peak_bytes               gauge    highest usage of the cgroup (memory.peak, v1 memory.max_usage_in_bytes)
//	rightsize_memory_swap_limit_bytes         gauge    swap the cgroup may use beyond its memory limit (hierarchy minimum)
//	rightsize_memory_events_total             counter  memory.events, label event (high, max, oom, oom_kill)
//	rightsize_pids_current                    gauge    tasks in the cgroup
//	rightsize_pids_limit                      gauge    pids.max (hierarchy minimum)
//	rightsize_pressure_stalled_seconds_total  counter  PSI stall time, labels resource (cpu, memory, io), kind (some, full), scope (container, host)
//	rightsize_pid_namespace_processes         gauge    processes in the PID namespace /proc shows
//	rightsize_pid_namespace_zombies           gauge    of those, zombies (exited, not yet reaped)
//	rightsize_process_children                gauge    children of the process (for PID 1, adopted orphans included)
//	rightsize_process_zombie_children         gauge    of those, zombies
//	rightsize_process_threads                 gauge    threads of the process
//	rightsize_process_open_fds                gauge    open file descriptors of the process
//	rightsize_process_max_fds                 gauge    soft RLIMIT_NOFILE
//	rightsize_reaper_active                   gauge    1 when the process reaps orphaned zombies, else 0; label mode (off, orphans, all)
//	rightsize_reaper_reaped_total             counter  zombies the reaper reaped
//	rightsize_memory_pressure_signals_total   counter  memory pressure signals begun in this process, label cause (heap, working-set, high, max, psi)
//	rightsize_gomaxprocs                      gauge    GOMAXPROCS in force
//	rightsize_gomemlimit_bytes                gauge    GOMEMLIMIT in force
//	rightsize_info                            gauge    1, labels container, runtime, orchestrator, qos_class, cgroup_layout
//	rightsize_read_errors_total               counter  scrapes in which a value could not be read
//
// "Unlimited" is no sample, never a magic number: without a CPU quota there
// is no rightsize_cpu_limit_cores sample, without a memory limit no
// rightsize_memory_limit_bytes, and with GOMEMLIMIT unset (math.MaxInt64 in
// the runtime) no rightsize_gomemlimit_bytes. A value whose controller is
// not mounted (no pids controller, memory.high on cgroup v1) is likewise
// absent. Use absent() or "or vector(0)" in queries that must cope.
//
// The CPU request follows the one rule of runtimeinfo: in Kubernetes it is
// what the kubelet wrote as the cgroup's cpu.shares (v1) or cpu.weight (v2,
// approximate); outside Kubernetes a cgroup weight is a relative weight
// nobody asked for and is never reported as a request; where there is no
// such file, or outside Kubernetes, RIGHTSIZE_CPU_REQUEST_MILLIS (the
// Downward API) is used.
//
// Pressure (PSI) comes from the process's cgroup v2 cpu.pressure,
// memory.pressure and io.pressure, also on hybrid hosts. Where the process
// has no v2 cgroup with those files (cgroup v1) it comes from
// /proc/pressure, and where the process's v2 cgroup is the root of the
// hierarchy the files count every task on the host too: both are labelled
// scope="host", so that a dashboard never takes the host's stalls for the
// container's. rate() of the counter is the share of time stalled (1 = all
// of it); kind="full" is absent where the kernel has no full line (CPU
// before Linux 5.13).
//
// rightsize_cpu_usage_other_cgroup is 1 on cgroup v1 hosts where the cpu
// and cpuacct controllers are mounted apart and the process is in
// different cgroups of the two: the usage then comes from the cpuacct
// hierarchy's cgroup, the limit from the cpu hierarchy's, and usage/limit
// may compare different sets of tasks.
//
// # Process table, reaper and pressure signals
//
// The process table (runtimeinfo.FieldProcesses) is read from /proc at
// every scrape: the processes and zombies of the PID namespace the /proc
// mount shows (the container's own; the host's outside a container), and
// this process's children, zombie children, threads, open descriptors and
// RLIMIT_NOFILE. A zombie holds a PID, and counts in pids.current with
// every thread, until its parent reaps it; in a container whose PID 1 is
// the Go service, orphaned zombies pile up until rightsize_pids_current
// reaches rightsize_pids_limit and fork and thread creation fail. Under
// WithRoot these describe the captured process and its tree; a tree
// without the files has none of these metrics (and no read error), and a
// part that cannot be read is absent alone. An unlimited RLIMIT_NOFILE is
// no rightsize_process_max_fds sample.
//
// rightsize_reaper_active and rightsize_reaper_reaped_total describe the
// zombie reaper of package reaper, which the blank import of rightsize
// starts in PID 1 of a PID namespace: mode "orphans" by default, "all"
// with RIGHTSIZE_REAPER=all, "off" where it does not act (not PID 1,
// RIGHTSIZE_REAPER=off, or where pidfds cannot protect os/exec's
// children; rightsizeexpvar shows the reason), and active 0 with its mode
// once stopped. They are the live process's only: absent under WithRoot.
//
// rightsize_memory_pressure_signals_total counts the memory pressure
// signals (runtimeinfo.WithMemoryPressure, rightsize.OnMemoryPressure)
// that began in this process, from every watcher, by cause: heap,
// working-set, high, max and psi (every runtimeinfo.PressureCauses value). Every cause is exported
// at every scrape, from 0, so that increase() sees the first signal. It is
// this process's count whatever the root: under WithRoot too, and after
// Close.
//
// client_golang's process collector (collectors.NewProcessCollector, also
// in prometheus.DefaultRegisterer) exports process_open_fds and
// process_max_fds. rightsize_process_open_fds and rightsize_process_max_fds
// are kept all the same: under WithRoot they describe the captured process,
// which the process collector cannot; they sit with the children, threads
// and pids of the same reading; and they exist in registries without the
// process collector. On the live process the limits agree, and
// process_open_fds is higher by the descriptors that rightsize keeps on
// /proc for the scan (four, which the scan leaves out) and the one the
// process collector opens to count (a test checks it).
//
// # GOMAXPROCS and GOMEMLIMIT
//
// client_golang's Go collector (collectors.NewGoCollector, also in
// prometheus.DefaultRegisterer) exports go_sched_gomaxprocs_threads and
// go_gc_gomemlimit_bytes by default since client_golang v1.20; this module
// requires v1.22.0, so a program that registers the Go collector has them.
// rightsize_gomaxprocs and rightsize_gomemlimit_bytes are kept all the
// same, deliberately: they are part of this module's v1 metric names, which
// dashboards and alerts use; they follow the "no limit, no sample" rule
// (go_gc_gomemlimit_bytes shows 9.223372036854776e+18 when GOMEMLIMIT is
// unset); and they are there in registries without the Go collector, or
// with its runtime metrics switched off (WithoutGoCollectorRuntimeMetrics).
// Both read the runtime at scrape time and always agree (a test checks it);
// use either, not the sum.
//
// Useful queries:
//
//	# share of CFS periods in which the container was throttled
//	rate(rightsize_cpu_throttled_periods_total[5m]) / rate(rightsize_cpu_periods_total[5m])
//	# CPU use against the limit
//	rate(rightsize_cpu_usage_seconds_total[5m]) / rightsize_cpu_limit_cores
//	# how close the working set is to the OOM killer
//	rightsize_memory_working_set_bytes / rightsize_memory_limit_bytes
//	# processes the OOM killer killed in the container in the last hour
//	increase(rightsize_memory_events_total{event="oom_kill"}[1h])
//	# a quota above the process's cgroup that the Go runtime does not see
//	rightsize_cpu_limit_cores unless rightsize_cpu_leaf_limit_cores
//	rightsize_cpu_limit_cores < rightsize_cpu_leaf_limit_cores
//	# GOMAXPROCS above the CPU limit: throttling ahead
//	rightsize_gomaxprocs > ceil(rightsize_cpu_limit_cores)
//	# share of time some of the container's tasks waited for memory
//	rate(rightsize_pressure_stalled_seconds_total{resource="memory",kind="some",scope="container"}[5m])
//	# zombies piling up in a PID 1 that does not reap them
//	rightsize_pid_namespace_zombies > 10 and on() rightsize_reaper_active == 0
//	# descriptors close to RLIMIT_NOFILE
//	rightsize_process_open_fds / rightsize_process_max_fds > 0.8
//	# memory pressure signals in the last hour, by cause
//	increase(rightsize_memory_pressure_signals_total[1h])
//
// # Reading
//
// The collector reads through one runtimeinfo.Reader (runtimeinfo.FieldAll),
// the reader behind rightsize's own GOMAXPROCS and GOMEMLIMIT decisions, the
// rightsize command and rightsizeexpvar, so all of them show the same
// values by the same rules: the minimum over the cgroup hierarchy, the
// affinity mask bounded by the cpuset, the Downward API where the cgroup
// shows no limit, the CPU request rule, and rediscovery when the process
// moves to another cgroup or its cgroup is removed. The collector adds no
// rule of its own.
//
// NewCollector opens the Reader, which discovers the cgroups once and keeps
// descriptors on the files. Each scrape refreshes a snapshot the collector
// owns through them (pread into fixed buffers): no rediscovery, no
// allocation for the reads (the metrics sent to the registry are allocated
// by client_golang, as for every collector). Limits are re-read on every
// scrape, so an in-place resize shows at the next scrape. Files are opened
// without blocking and anything but a regular file (a FIFO) is refused. A
// value that cannot be read is left out of that scrape,
// rightsize_read_errors_total goes up, and one log line says which file
// failed (once per distinct failure; see WithLogger). A scrape never fails
// as a whole.
//
// The cgroup counters are the cgroup's, not the process's: in a container
// they cover every process in it, which is what its limits bind. The
// rightsize_process_* metrics are the process's own.
//
// The process table scan keeps /proc, /proc/self/task, /proc/self/fd and
// /proc/self/fdinfo open and allocates nothing on the live system; reading
// a captured tree (WithRoot) allocates, as paths are resolved inside the
// tree.
package prometheus
