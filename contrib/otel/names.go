package otel

// The semantic conventions this package follows, and the instrumentation
// scope its meter is created with.
const (
	// SemconvVersion is the version of the OpenTelemetry semantic
	// conventions whose names, instrument kinds and units the go.* and
	// container.* instruments follow.
	SemconvVersion = "1.44.0"
	// SchemaURL is the schema URL of SemconvVersion, set on the meter.
	SchemaURL = "https://opentelemetry.io/schemas/" + SemconvVersion
	// ScopeName is the instrumentation scope (meter) name: this package's
	// import path.
	ScopeName = "github.com/rightsize/rightsize/contrib/otel"
)

// Instrument names. The go.*, container.* and process.* ones are the
// semantic conventions' (SemconvVersion); the rightsize.* ones are this
// package's, for what the conventions do not cover (no container CPU or
// memory limit, no memory peak, swap limit or memory limit events, no
// throttling, no pressure stall information, no zombies, no descriptor
// limit, no reaper, no pressure signals).
const (
	// Semantic conventions, Go runtime (docs/runtime/go-metrics.md).
	MetricGoProcessorLimit = "go.processor.limit"
	MetricGoMemoryLimit    = "go.memory.limit"

	// Semantic conventions, container (docs/system/container-metrics.md).
	MetricContainerCPUTime          = "container.cpu.time"
	MetricContainerMemoryUsage      = "container.memory.usage"
	MetricContainerMemoryWorkingSet = "container.memory.working_set"

	// Semantic conventions, process (docs/system/process-metrics.md).
	MetricProcessThreadCount         = "process.thread.count"
	MetricProcessFileDescriptorCount = "process.unix.file_descriptor.count"

	// rightsize.*
	MetricCPULimit             = "rightsize.cpu.limit"
	MetricCPULeafLimit         = "rightsize.cpu.leaf_limit"
	MetricCPURequest           = "rightsize.cpu.request"
	MetricCPUAllowed           = "rightsize.cpu.allowed"
	MetricCPUTimeOtherCgroup   = "rightsize.cpu.time.other_cgroup"
	MetricCPUThrottlingPeriods = "rightsize.cpu.throttling.periods"
	MetricCPUThrottledPeriods  = "rightsize.cpu.throttling.throttled_periods"
	MetricCPUThrottledTime     = "rightsize.cpu.throttling.throttled_time"
	MetricMemoryLimit          = "rightsize.memory.limit"
	MetricMemoryHigh           = "rightsize.memory.high"
	MetricMemoryRequest        = "rightsize.memory.request"
	MetricMemoryHost           = "rightsize.memory.host"
	MetricMemoryPeak           = "rightsize.memory.peak"
	MetricMemorySwapLimit      = "rightsize.memory.swap.limit"
	MetricMemoryEvents         = "rightsize.memory.events"
	MetricPIDsUsage            = "rightsize.pids.usage"
	MetricPIDsLimit            = "rightsize.pids.limit"
	MetricPressureStalledTime  = "rightsize.pressure.stalled_time"
	MetricInfo                 = "rightsize.info"
	MetricReadErrors           = "rightsize.read_errors"

	// rightsize.*: the process table, the zombie reaper and the memory
	// pressure signals.
	MetricPIDNamespaceProcessCount   = "rightsize.pid_namespace.process.count"
	MetricPIDNamespaceZombieCount    = "rightsize.pid_namespace.zombie.count"
	MetricProcessChildCount          = "rightsize.process.child.count"
	MetricProcessZombieChildCount    = "rightsize.process.zombie_child.count"
	MetricProcessFileDescriptorLimit = "rightsize.process.unix.file_descriptor.limit"
	MetricReaperActive               = "rightsize.reaper.active"
	MetricReaperReaped               = "rightsize.reaper.reaped"
	MetricMemoryPressureSignals      = "rightsize.memory.pressure.signals"
)

// Attribute keys. Only rightsize.pressure.stalled_time, rightsize.info,
// rightsize.memory.events, rightsize.reaper.active and
// rightsize.memory.pressure.signals carry attributes.
const (
	// AttrPressureResource is "cpu", "memory" or "io".
	AttrPressureResource = "rightsize.pressure.resource"
	// AttrPressureKind is "some" (some tasks stalled) or "full" (all
	// non-idle tasks stalled).
	AttrPressureKind = "rightsize.pressure.kind"
	// AttrPressureScope is "container" (the process's cgroup v2 pressure
	// files) or "host" (every task on the host: /proc/pressure, or the
	// root of the v2 hierarchy).
	AttrPressureScope = "rightsize.pressure.scope"

	// AttrContainerized is true when the process runs in a container.
	AttrContainerized = "rightsize.containerized"
	// AttrContainerRuntime is the container runtime ("docker",
	// "containerd", "cri-o", ...); absent when unknown.
	AttrContainerRuntime = "rightsize.container.runtime"
	// AttrOrchestrator is what runs the container ("kubernetes", "ecs",
	// "cloud-run", "nomad"); absent when unknown.
	AttrOrchestrator = "rightsize.orchestrator"
	// AttrK8sQOSClass is the Kubernetes pod's QoS class ("Guaranteed",
	// "Burstable", "BestEffort"); absent outside Kubernetes or when
	// unknown.
	AttrK8sQOSClass = "rightsize.k8s.qos_class"
	// AttrCgroupLayout is "v1", "v2", "hybrid" or "none".
	AttrCgroupLayout = "rightsize.cgroup.layout"

	// AttrMemoryEvent is the memory limit event, named as in the kernel's
	// memory.events: "high", "max", "oom" or "oom_kill".
	AttrMemoryEvent = "rightsize.memory.event"

	// AttrReaperMode is the zombie reaper's mode: "off", "orphans" or
	// "all".
	AttrReaperMode = "rightsize.reaper.mode"
	// AttrPressureCause is the cause of a memory pressure signal:
	// "heap", "working-set", "high", "max" or "psi" (every
	// runtimeinfo.PressureCauses value).
	AttrPressureCause = "rightsize.memory.pressure.cause"
)
