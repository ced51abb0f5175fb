// Package runtimeinfo reports the resources a process really has in its
// container and sets GOMAXPROCS and GOMEMLIMIT to fit them.
//
//   - A [Reader] is the one place that knows what the process has. It
//     discovers the cgroups once ([NewReader]) and refreshes a caller-owned
//     [Snapshot] on every [Reader.Read], without allocating when every read
//     succeeds: the CPU limit
//     (the smallest quota over the process's cgroup and every ancestor), the
//     CPUs the process may run on (affinity mask bounded by the cgroup
//     cpuset), the memory limit and memory.high, host memory, and with
//     [WithFields] the requests, pids, usage statistics and the process
//     table, each value with its [Source]. [Read] is one Reader, one
//     Snapshot.
//   - One decision turns a Snapshot and the options into what GOMAXPROCS and
//     GOMEMLIMIT should be, with a [Decision] (value, previous value, source,
//     reason) for each. [Tune] applies it once and returns an undo;
//     [Watch] follows the limits until its context is done; [Start] does
//     both with one discovery and returns a [Tuner] (what the blank import
//     of package rightsize runs); [Recommend] and [Reader.Recommend] show it
//     without applying anything.
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
// watcher keeps following the limit. [Snapshot.Mode] tells the runtime's
// mode from runtime.Version, GODEBUG and the main module's default GODEBUG.
// Once the program sets its own GOMAXPROCS after rightsize did, rightsize
// leaves it alone. Known limit: while the runtime is in charge a program's
// own runtime.GOMAXPROCS call is indistinguishable from a runtime update.
//
// # GOMEMLIMIT
//
// GOMEMLIMIT = [DefaultMemoryRatio] (0.9, [WithMemoryRatio]) × min(memory
// limit, memory.high, host memory), or the limit minus a fixed reserve
// ([WithMemoryReserve]); the watcher then leaves room for the memory charged
// to the cgroup that the Go runtime does not manage — cgo, anonymous
// mappings, child processes, kernel memory — by its estimate of it
// ([WithOffHeap], docs/memory.md). A GOMEMLIMIT environment variable wins;
// without a limit GOMEMLIMIT is left alone (never set from host memory
// alone); if the limit is removed later, the value from before rightsize is
// restored.
//
// # The safety envelope
//
// Every decision lies inside it: GOMAXPROCS in [1, the CPUs the process may
// run on], computed without overflow; GOMEMLIMIT never above the effective
// limit and never below [MinGOMEMLIMIT] — a value computed below it is not
// applied, one warning says so and the previous value stays. A limit the
// kernel would not write (0 bytes, a negative value) is an error, not a
// limit. The watcher's interval has a floor, [MinWatchInterval]. An option
// with an invalid value is an error wrapping [ErrInvalidOption]. See
// docs/safety.md.
//
// # Memory pressure
//
// [WithMemoryPressure] (and rightsize.OnMemoryPressure for the blank
// import) calls a function when the process gets close to its memory limit:
// the live heap reaches a share of GOMEMLIMIT, the working set crosses a
// share of the limit, the kernel reports memory.high or memory.max events,
// or (cgroup v2) memory stalls. Each
// signal fires once when its condition begins and once when it ends.
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
// # Settings from the environment
//
// Only with [WithEnvConfig] (which the blank import uses): RIGHTSIZE=off,
// RIGHTSIZE_LOG=off, RIGHTSIZE_CPU_POLICY, RIGHTSIZE_MIN_PROCS,
// RIGHTSIZE_MEMORY_RATIO, RIGHTSIZE_MEMORY_RESERVE_BYTES,
// RIGHTSIZE_GOMAXPROCS=off, RIGHTSIZE_GOMEMLIMIT=off, RIGHTSIZE_OFFHEAP=off
// and RIGHTSIZE_WATCH_INTERVAL. An unusable value gives one warning and its
// default applies.
//
// # Roots
//
// With [WithRoot] everything is read below another directory (fixtures,
// captured trees) and nothing from the live process: the environment from
// <root>/proc/self/environ, the CPUs from <root>/proc/self/status
// (Cpus_allowed_list), host memory from <root>/proc/meminfo; no path,
// symbolic links included, resolves outside the root. Tune and Watch still
// apply the results to this process's runtime.
package runtimeinfo
