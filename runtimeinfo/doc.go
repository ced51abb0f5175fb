// Package runtimeinfo reports the resources a process really has in its
// container and sets GOMAXPROCS and GOMEMLIMIT to fit them.
//
//   - [Read] takes a [Snapshot]: CPU limit (the smallest quota over the
//     process's cgroup and every ancestor), CPUs the process may run on
//     (affinity mask, bounded by the cgroup cpuset), CPU request, memory
//     limit and memory.high, host memory, usage, working set, throttling
//     and pids, each with its [Source] (file and raw content, or
//     environment variable).
//   - [Tune] applies the policies once and returns each [Decision] (value,
//     previous value, source, reason) and an undo.
//   - [Watch] does the same, then follows changes (in-place resize) until
//     its context is done, with no allocation per tick when nothing changed.
//
// The blank import of the root package rightsize runs Tune and Watch with
// the defaults.
//
// # GOMAXPROCS
//
// Order: round the CPU limit by the policy ([PolicyCeil], [PolicyFloor] or
// [PolicyRuntime]), raise it to the minimum ([WithMinProcs]), cap it at the
// CPUs the process may run on. The default, [DefaultCPUPolicy] = ceil with
// minimum 1, was chosen by measurement (bench/README.md): at 0.5 and 1 CPU
// the runtime's minimum of 2 lost throughput and tripled the closed-loop
// P99.9; at 1.5 CPUs floor's 1 served a quarter fewer requests and had a
// tenfold P99.9 at 80% load. Ceil with minimum 1 was best or tied at every
// quota measured.
//
// A valid GOMAXPROCS environment variable wins. rightsize never calls
// runtime.GOMAXPROCS(n) with the value already in force (on Go 1.25+ any
// such call switches off the runtime's own updates); where its value equals
// the Go runtime's container-aware default it leaves the runtime in charge
// (handing back with runtime.SetDefaultGOMAXPROCS if it had overridden);
// where the hierarchy or the policy gives another value it sets it and its
// watcher keeps following the limit. [DetectRuntimeMode] tells the mode from
// runtime.Version, GODEBUG and the main module's default GODEBUG. Once the
// program sets its own GOMAXPROCS after rightsize did, rightsize leaves it
// alone. Known limit: while the runtime is in charge a program's own
// runtime.GOMAXPROCS call is indistinguishable from a runtime update.
//
// # GOMEMLIMIT
//
// GOMEMLIMIT = [DefaultMemoryRatio] (0.9, [WithMemoryRatio]) × min(memory
// limit, memory.high, host memory), or the limit minus a fixed reserve
// ([WithMemoryReserve]). A GOMEMLIMIT environment variable wins; without a
// limit GOMEMLIMIT is left alone (never set from host memory alone); if the
// limit is removed later, the value from before rightsize is restored.
//
// # Downward API
//
// Where the cgroup shows no limit (a pod-level limit above a private cgroup
// namespace, sandboxes) or cannot be read, these environment variables are
// used: RIGHTSIZE_CPU_LIMIT_MILLIS, RIGHTSIZE_CPU_REQUEST_MILLIS,
// RIGHTSIZE_MEMORY_LIMIT_BYTES and RIGHTSIZE_MEMORY_REQUEST_BYTES. A visible
// cgroup limit wins: the environment is fixed at container start and goes
// stale after an in-place resize. Without a limit Kubernetes fills limits.*
// with the node's allocatable, which the cap at the CPUs and host memory
// makes harmless.
//
//	env:
//	- name: RIGHTSIZE_CPU_LIMIT_MILLIS
//	  valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
//	- name: RIGHTSIZE_CPU_REQUEST_MILLIS
//	  valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}
//	- name: RIGHTSIZE_MEMORY_LIMIT_BYTES
//	  valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: "1"}}
//	- name: RIGHTSIZE_MEMORY_REQUEST_BYTES
//	  valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: "1"}}
//
// (divisor 1m is rejected for memory by the API server.)
//
// # Roots
//
// With [WithRoot] everything is read below another directory (fixtures,
// captured trees) and nothing from the live process: the environment from
// <root>/proc/self/environ, the CPUs from <root>/proc/self/status
// (Cpus_allowed_list), host memory from <root>/proc/meminfo. Tune and Watch
// still apply the results to this process's runtime.
package runtimeinfo
