// Package otel exports what rightsize sees as OpenTelemetry metrics: the
// limits the kernel enforces on the process's container, its usage and CPU
// throttling, the process's share of the process table (zombies, threads,
// open descriptors) and its zombie reaper, the memory pressure signals
// fired, the GOMAXPROCS and GOMEMLIMIT in force, and the environment.
// These are the values of the Prometheus collector
// (github.com/rightsize/rightsize/contrib/prometheus), as asynchronous
// instruments observed at each collection.
//
// It is a module of its own (github.com/rightsize/rightsize/contrib/otel)
// so that the rightsize library's module graph stays free of OpenTelemetry.
// It depends on the OpenTelemetry metric API only
// (go.opentelemetry.io/otel/metric, v1.35.0 or later); the program brings
// the SDK and exporters. Import it under another name to keep the otel
// package name free:
//
//	import rsotel "github.com/rightsize/rightsize/contrib/otel"
//
//	reg, err := rsotel.Register(meterProvider)
//	if err != nil { ... }
//	defer reg.Unregister()
//
// Register creates the instruments on a meter named ScopeName with the
// schema URL of the semantic conventions followed (SchemaURL), and
// registers one callback for all of them.
//
// # Names
//
// The names, instrument kinds and units follow the OpenTelemetry semantic
// conventions v1.44.0 (SemconvVersion) where the conventions define the
// value: the Go runtime's go.processor.limit and go.memory.limit
// (docs/runtime/go-metrics.md), container.cpu.time,
// container.memory.usage and container.memory.working_set
// (docs/system/container-metrics.md), and process.thread.count and
// process.unix.file_descriptor.count (docs/system/process-metrics.md).
// All are at stability "development" or "release_candidate" in v1.44.0,
// so they may still change. The conventions define no container CPU or
// memory limit, no memory peak, swap limit or memory limit events (OOM
// kills among them), no CFS throttling, no pids, no pressure stall information
// (PSI), no zombies or children of a process, no descriptor limit of a
// process (only the JVM's jvm.file_descriptor.limit), no reaper and no
// pressure signals: those are rightsize.*.
// The k8s.container.{cpu,memory}.{limit,request}.* metrics describe the
// Kubernetes API's view (the pod spec and status), not what the cgroup
// enforces, and are not used.
//
//	instrument                                    kind                 unit               attributes   source (runtimeinfo.Snapshot)          Prometheus collector
//	go.processor.limit                            UpDownCounter int    {thread}           -            runtime.GOMAXPROCS(0)                  rightsize_gomaxprocs
//	go.memory.limit                               UpDownCounter int    By                 -            debug.SetMemoryLimit(-1), if set       rightsize_gomemlimit_bytes
//	container.cpu.time                            Counter float        s                  -            Stats.CPU.Usage                        rightsize_cpu_usage_seconds_total
//	container.memory.usage                        UpDownCounter int    By                 -            Stats.Memory.Usage                     rightsize_memory_usage_bytes
//	container.memory.working_set                  UpDownCounter int    By                 -            Stats.Memory.WorkingSet                rightsize_memory_working_set_bytes
//	process.thread.count                          UpDownCounter int    {thread}           -            ProcessTable.Threads                   rightsize_process_threads
//	process.unix.file_descriptor.count            UpDownCounter int    {file_descriptor}  -            ProcessTable.FDs                       rightsize_process_open_fds
//	rightsize.cpu.limit                           UpDownCounter float  {cpu}              -            CPULimit.CPUs                          rightsize_cpu_limit_cores
//	rightsize.cpu.leaf_limit                      UpDownCounter float  {cpu}              -            LeafCPULimit.CPUs                      rightsize_cpu_leaf_limit_cores
//	rightsize.cpu.request                         UpDownCounter float  {cpu}              -            CPURequest.CPUs                        rightsize_cpu_request_cores
//	rightsize.cpu.allowed                         UpDownCounter int    {cpu}              -            CPUs.N                                 rightsize_cpus_allowed
//	rightsize.cpu.time.other_cgroup               Gauge int            (none)             -            CPUUsageElsewhere (1 or 0)             rightsize_cpu_usage_other_cgroup
//	rightsize.cpu.throttling.periods              Counter int          {period}           -            Stats.CPU.Throttling.Periods           rightsize_cpu_periods_total
//	rightsize.cpu.throttling.throttled_periods    Counter int          {period}           -            Stats.CPU.Throttling.ThrottledPeriods  rightsize_cpu_throttled_periods_total
//	rightsize.cpu.throttling.throttled_time       Counter float        s                  -            Stats.CPU.Throttling.ThrottledTime     rightsize_cpu_throttled_seconds_total
//	rightsize.memory.limit                        UpDownCounter int    By                 -            MemoryLimit.Bytes                      rightsize_memory_limit_bytes
//	rightsize.memory.high                         UpDownCounter int    By                 -            MemoryHigh.Bytes                       rightsize_memory_high_bytes
//	rightsize.memory.request                      UpDownCounter int    By                 -            MemoryRequest.Bytes                    rightsize_memory_request_bytes
//	rightsize.memory.host                         UpDownCounter int    By                 -            HostMemory.Bytes (MemTotal)            rightsize_memory_host_bytes
//	rightsize.memory.peak                         Gauge int            By                 -            Stats.Memory.Peak                      rightsize_memory_peak_bytes
//	rightsize.memory.swap.limit                   UpDownCounter int    By                 -            SwapLimit.Bytes                        rightsize_memory_swap_limit_bytes
//	rightsize.memory.events                       Counter int          {event}            event        Stats.Memory.Events                    rightsize_memory_events_total
//	rightsize.pids.usage                          UpDownCounter int    {task}             -            Stats.PIDs.Current                     rightsize_pids_current
//	rightsize.pids.limit                          UpDownCounter int    {task}             -            PIDsLimit.N                            rightsize_pids_limit
//	rightsize.pressure.stalled_time               Counter float        s                  resource,    Stats.Pressure.{CPU,Memory,IO}         rightsize_pressure_stalled_seconds_total
//	                                                                                      kind, scope  .{Some,Full}.Total, HostWide
//	rightsize.info                                Gauge int            (none)             environment  Reader.Environment(), Layout           rightsize_info
//	rightsize.read_errors                         Counter int          {collection}       -            Errors (collections with one or more)  rightsize_read_errors_total
//	rightsize.pid_namespace.process.count         UpDownCounter int    {process}          -            ProcessTable.Processes                 rightsize_pid_namespace_processes
//	rightsize.pid_namespace.zombie.count          UpDownCounter int    {process}          -            ProcessTable.Zombies                   rightsize_pid_namespace_zombies
//	rightsize.process.child.count                 UpDownCounter int    {process}          -            ProcessTable.Children                  rightsize_process_children
//	rightsize.process.zombie_child.count          UpDownCounter int    {process}          -            ProcessTable.ZombieChildren            rightsize_process_zombie_children
//	rightsize.process.unix.file_descriptor.limit  UpDownCounter int    {file_descriptor}  -            ProcessTable.FDLimit.Soft, if limited  rightsize_process_max_fds
//	rightsize.reaper.active                       Gauge int            (none)             mode         Reaper.Active (1 or 0), Reaper.Mode    rightsize_reaper_active
//	rightsize.reaper.reaped                       Counter int          {process}          -            Reaper.Reaped                          rightsize_reaper_reaped_total
//	rightsize.memory.pressure.signals             Counter int          {signal}           cause        runtimeinfo.PressureSignals(cause)     rightsize_memory_pressure_signals_total
//
// Attributes (keys are constants of this package):
//
//   - rightsize.pressure.stalled_time: rightsize.pressure.resource ("cpu",
//     "memory", "io"), rightsize.pressure.kind ("some": some tasks stalled;
//     "full": all non-idle tasks stalled; cpu has "full" from Linux 5.13)
//     and rightsize.pressure.scope ("container": the process's cgroup v2;
//     "host": every task on the host, read from /proc/pressure or from
//     the root of the v2 hierarchy because the process has no v2 cgroup
//     of its own).
//   - rightsize.info, always 1: rightsize.containerized (bool),
//     rightsize.cgroup.layout ("v1", "v2", "hybrid", "none"), and where
//     known rightsize.container.runtime ("docker", "containerd", "cri-o",
//     ...), rightsize.orchestrator ("kubernetes", "ecs", "cloud-run",
//     "nomad") and rightsize.k8s.qos_class ("Guaranteed", "Burstable",
//     "BestEffort"). They are data point attributes under rightsize.*, not
//     resource attributes: a program's resource describes its container
//     with the conventions' container.* and k8s.* attributes (resource
//     detectors), and these must not collide with them.
//   - rightsize.memory.events: rightsize.memory.event ("high", "max",
//     "oom", "oom_kill", as the kernel's memory.events names them; on
//     cgroup v1 "max" is memory.failcnt, "oom" and "oom_kill" are the
//     oom_kill of memory.oom_control and "high" is 0), one point for each
//     at every collection where the files exist.
//   - rightsize.reaper.active: rightsize.reaper.mode ("off", "orphans",
//     "all").
//   - rightsize.memory.pressure.signals: rightsize.memory.pressure.cause
//     ("heap", "working-set", "high", "max", "psi": every
//     runtimeinfo.PressureCauses value),
//     one point for each at every collection.
//
// Kinds follow the OpenTelemetry guideline as the conventions apply it
// (system.memory.limit and k8s.container.cpu.limit.current are
// UpDownCounters): UpDownCounter for an amount that adds up across
// containers (limits, requests, usage, counts), Counter for what only
// grows, Gauge for the rest. container.memory.usage is an
// UpDownCounter as of v1.44.0 (a Counter from its introduction in v1.25.0
// to v1.43.0, and in the otel-go semconv packages generated from those). container.cpu.time carries no
// cpu.mode attribute: the value is the cgroup's total CPU time (cpu.stat
// usage_usec, cpuacct.usage), which the conventions report without mode,
// as the kubelet does. container.cpu.usage (a rate over an interval),
// container.memory.available and container.memory.rss are not exported:
// the first is a backend's rate() of container.cpu.time, the second is
// rightsize.memory.limit minus container.memory.working_set, and the third
// has no counterpart in the Prometheus collector.
//
// # Process table, reaper and pressure signals
//
// The process table (runtimeinfo.FieldProcesses) is read from /proc at
// every collection: the processes and zombies of the PID namespace the
// /proc mount shows (the container's own; the host's outside a
// container), and the process's children, zombie children, threads, open
// descriptors and soft RLIMIT_NOFILE. A zombie holds a PID, and counts in
// rightsize.pids.usage with every thread, until its parent reaps it; in a
// container whose PID 1 is the Go service, orphaned zombies pile up until
// rightsize.pids.usage reaches rightsize.pids.limit. process.thread.count
// and process.unix.file_descriptor.count are the conventions' metrics of
// the process entity, the process the meter provider's resource
// describes; with WithRoot they, like the rest of the table, describe the
// captured process instead. A tree without those files has none of these
// points (and no read error); a part that cannot be read is absent alone;
// an unlimited RLIMIT_NOFILE is no
// rightsize.process.unix.file_descriptor.limit point. The descriptor count
// leaves out the four /proc directories the scan keeps open.
// system.process.count (with process.state "defunct") is not used for the
// zombies: it is the host entity's count of processes in every state, of
// which only the total and the zombies are known here.
//
// rightsize.reaper.active and rightsize.reaper.reaped describe the zombie
// reaper of package reaper, which the blank import of rightsize starts in
// PID 1 of a PID namespace: mode "orphans" by default, "all" with
// RIGHTSIZE_REAPER=all, "off" where it does not act (not PID 1,
// RIGHTSIZE_REAPER=off, or where pidfds cannot protect os/exec's children;
// rightsizeexpvar shows the reason), and active 0 with its mode once
// stopped. They are the live process's only: not observed with WithRoot.
//
// rightsize.memory.pressure.signals counts the memory pressure signals
// (runtimeinfo.WithMemoryPressure, rightsize.OnMemoryPressure) that began
// in this process, from every watcher, by cause. Every cause is observed
// at every collection, from 0. It is this process's count whatever the
// root, with WithRoot too.
//
// The container.* instruments describe the process's cgroup. In a
// container that is the container; on a host it is the cgroup the process
// runs in (a systemd service, a session), and rightsize.info's
// rightsize.containerized says which. The counters are the cgroup's, not
// the process's: in a container they cover every process in it, which is
// what its limits bind.
//
// "Unlimited" is no data point, never a magic number: without a CPU quota
// there is no rightsize.cpu.limit point, without a memory limit no
// rightsize.memory.limit, and with GOMEMLIMIT unset (math.MaxInt64 in the
// runtime) no go.memory.limit, as the conventions say. A value whose
// controller is not mounted (no pids controller, memory.high on cgroup
// v1) is likewise absent.
//
// # Duplicates with the runtime instrumentation
//
// go.opentelemetry.io/contrib/instrumentation/runtime also reports
// go.processor.limit and go.memory.limit (with the same values: both read
// the runtime's settings). A program that uses it should pass
// WithoutGoMetrics, so that each name has one source: the two would
// differ only in instrumentation scope, and a backend that does not keep
// the scope sees one series with two writers.
//
// # Collection
//
// Register opens a runtimeinfo.Reader (runtimeinfo.FieldAll), which
// discovers the cgroups once and keeps descriptors on their files. The
// callback runs at every collection of every reader of the provider; it
// refreshes a snapshot through the Reader under a mutex (concurrent
// collections are serialised) and observes every instrument whose value
// exists. Limits are re-read each time, so an in-place resize shows at the
// next collection; when the process has moved to another cgroup, or a
// read failed, the Reader discovers the cgroups again. A value that
// cannot be read is left out of that collection, rightsize.read_errors
// goes up, and one log line says which file failed (once per distinct
// failure; see WithLogger). A collection never fails as a whole: the
// callback returns no error.
//
// The callback allocates nothing when every read succeeds: the reads go
// into the snapshot it owns, and every attribute set and observe option
// slice is built once, at Register. What a collection allocates beyond
// that is the SDK's: in go.opentelemetry.io/otel/sdk/metric an
// asynchronous instrument's data points are rebuilt at each collection,
// with an exemplar reservoir per point even with exemplars off. Measured
// with ManualReader.Collect (reusing its ResourceMetrics) on the
// Kubernetes fixture, 21 data points: 189 allocations and 120 KB per
// collection with sdk/metric v1.35.0, 147 and 9 KB with v1.38.0, 157 and
// 9 KB with v1.47.0. This module requires v1.35.0 (the newest release that
// still builds with Go 1.22); a program is free to use a newer SDK. The
// process table scan allocates nothing on the live system; reading a
// captured tree (WithRoot) allocates, as paths are resolved inside the
// tree.
package otel
