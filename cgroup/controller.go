package cgroup

// Controller names a cgroup controller that rightsize reads.
type Controller int

const (
	// CPU is the cpu controller: quota/period (v1 cpu.cfs_quota_us,
	// cpu.cfs_period_us; v2 cpu.max), shares/weight and throttling.
	CPU Controller = iota
	// CPUAcct is the v1 cpuacct controller (cpuacct.usage). On v2 CPU
	// usage lives in the unified cgroup's cpu.stat, which exists with or
	// without the cpu controller, so CPUAcct resolves to that directory.
	CPUAcct
	// CPUSet is the cpuset controller (the CPUs the cgroup may use).
	CPUSet
	// Memory is the memory controller.
	Memory
	// PIDs is the pids controller.
	PIDs
	// Unified is the process's cgroup v2 directory whatever controllers it
	// has; it carries the pressure (PSI) files, also on hybrid hosts.
	Unified

	numControllers
)

var controllerNames = [numControllers]string{"cpu", "cpuacct", "cpuset", "memory", "pids", "unified"}

func (c Controller) String() string {
	if c >= 0 && c < numControllers {
		return controllerNames[c]
	}
	return "Controller(?)"
}

// Layout says which cgroup versions the system mounts.
type Layout string

const (
	// LayoutNone: no cgroup filesystem is mounted (or visible).
	LayoutNone Layout = "none"
	// LayoutV1: only v1 hierarchies with controllers are mounted.
	LayoutV1 Layout = "v1"
	// LayoutV2: only the unified (v2) hierarchy is mounted.
	LayoutV2 Layout = "v2"
	// LayoutHybrid: v1 controller hierarchies and a cgroup2 mount coexist;
	// each controller is on one or the other.
	LayoutHybrid Layout = "hybrid"
)

// Location is where a controller's cgroup for this process lives.
type Location struct {
	// Version is 1 or 2.
	Version int
	// MountPoint is the mount point exactly as mountinfo lists it.
	MountPoint string
	// MountRoot is the mount's root within the hierarchy (mountinfo field
	// 4): "/" for a full or namespaced view, "/docker/<id>" for a
	// bind-mounted container view.
	MountRoot string
	// Path is the cgroup path from /proc/self/cgroup.
	Path string
	// Dir is the directory of the process's cgroup: MountPoint joined with
	// Path after MountRoot is stripped. It does not include the FS root
	// given with WithRoot.
	Dir string
	// Degraded is set when Path is not below MountRoot (the mount shows
	// another part of the hierarchy); Dir is then the mount point itself,
	// the only directory known to apply, and limits above it are unseen.
	Degraded bool
}
