package runc

import (
	"path"
	"testing"
)

// Limits are the limits ParentCgroup writes. Zero leaves a value at the
// kernel's default (unlimited); -1 writes "unlimited" explicitly.
type Limits struct {
	CPUQuota    int64  // cpu.cfs_quota_us
	CPUPeriod   uint64 // cpu.cfs_period_us
	MemoryLimit int64  // memory.limit_in_bytes
	PidsLimit   int64  // pids.max
}

// Cgroup is a cgroup created by ParentCgroup, present in the v1 cpu,
// cpuacct, memory and pids hierarchies.
type Cgroup struct {
	// Path is the cgroup path from the hierarchy root, as given to
	// ParentCgroup (e.g. /kubepods/burstable/pod<uid>).
	Path string
	dirs map[string]string
}

// Dir returns the host directory of the cgroup in the hierarchy carrying
// controller ("cpu", "cpuacct", "memory" or "pids"), or "" for another
// controller.
func (c *Cgroup) Dir(controller string) string { return c.dirs[controller] }

// Child returns the cgroup path of a child, for Config.CgroupsPath.
func (c *Cgroup) Child(name string) string { return path.Join(c.Path, name) }

// parentControllers are the hierarchies ParentCgroup creates its cgroup in:
// those whose limits the library reads. runc creates the container's path in
// the other hierarchies, and Run removes what was created there.
var parentControllers = []string{"cpu", "cpuacct", "memory", "pids"}

// ParentCgroup creates the cgroup p (an absolute path from the hierarchy
// root, such as KubePath.Pod()) in the v1 cpu, cpuacct, memory and pids
// hierarchies and writes lim into it, so that a container started with
// Config.CgroupsPath = c.Child(...) runs below a limited parent. This is the
// only way to get "parent tighter than leaf" on v1, which refuses a child
// quota above its parent's (EINVAL): the parent gets the quota, the container
// is started without one (its cpu.cfs_quota_us stays -1).
//
// p itself must not exist yet; it is removed after the test (t.Cleanup, so
// also when the test failed), together with any cgroups left below it,
// deepest first. Run deletes its container before it returns, so by then p
// is normally empty. Missing ancestors (/kubepods, /kubepods/burstable) are
// created too and removed once no harness user, in this process or another,
// needs them any more; ancestors that existed before are never removed.
//
// ParentCgroup skips the test (or fails it, see Require) when the harness
// is unavailable or a controller is not on a v1 hierarchy.
func ParentCgroup(t testing.TB, p string, lim Limits) *Cgroup {
	t.Helper()
	Require(t)
	if len(p) < 2 || p[0] != '/' || path.Clean(p) != p {
		t.Fatalf("ParentCgroup: path %q must be absolute, clean and not the root", p)
	}
	return parentCgroup(t, p, lim)
}
