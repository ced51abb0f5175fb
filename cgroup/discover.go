package cgroup

import (
	"bytes"
	"fmt"
	"path"

	"github.com/rightsize/rightsize/procfs"
)

// Discovery: which controller lives on which hierarchy and in which
// directory. It works on the raw bytes of /proc/self/cgroup and
// /proc/self/mountinfo in pooled scratch buffers, so a cold Open allocates
// only the strings it keeps.
//
// A controller is v1 when a v1 line of /proc/self/cgroup lists it and a
// "cgroup" mount carries it in its super options; otherwise it is v2 when
// the "0::" line exists and the chosen cgroup2 mount's cgroup.controllers
// lists it. Hybrid hosts split controllers between the two.

const (
	maxMounts = 64 // cgroup mounts considered; real systems have about 15
	arenaSize = 16 << 10
)

// ctrlMask is a set of controllers.
type ctrlMask uint8

func (m ctrlMask) has(c Controller) bool { return m&(1<<c) != 0 }

// cgMount is a cgroup or cgroup2 mount; root and point alias the arena.
type cgMount struct {
	root, point []byte
	v2          bool
	ctrls       ctrlMask // v1: controllers in the super options
	anyCtrl     bool     // v1: carries some controller (not only name=)
}

type discovery struct {
	v1Path [numControllers][]byte // path of the v1 line listing the controller
	v2Path []byte                 // path of the 0:: line, nil if none
	mounts [maxMounts]cgMount
	n      int
	arena  []byte // backing store for mount roots and points
	skip   int    // cgroup mounts dropped for lack of room (see unresolved)
}

// controllerByName maps the kernel's controller names to ours.
func controllerByName(name []byte) (Controller, bool) {
	switch string(name) {
	case "cpu":
		return CPU, true
	case "cpuacct":
		return CPUAcct, true
	case "cpuset":
		return CPUSet, true
	case "memory":
		return Memory, true
	case "pids":
		return PIDs, true
	}
	return 0, false
}

// isV1Controller reports whether a v1 super option names a controller (as
// opposed to rw, xattr, name=systemd, release_agent=..., clone_children).
func isV1Controller(opt []byte) bool {
	switch string(opt) {
	case "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio",
		"perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc":
		return true
	}
	return false
}

// addCgroupLine records a line of /proc/self/cgroup. The paths alias the
// file's buffer, which must stay unchanged until resolve is done.
func (d *discovery) addCgroupLine(id int, list, path []byte) error {
	if id == 0 && len(list) == 0 {
		d.v2Path = path
		return nil
	}
	for rest := list; len(rest) > 0; {
		var name []byte
		name, rest, _ = bytes.Cut(rest, []byte(","))
		if c, ok := controllerByName(name); ok && c != Unified {
			d.v1Path[c] = path
		}
	}
	return nil
}

// addMount records a cgroup or cgroup2 mount from a mountinfo line.
func (d *discovery) addMount(v *procfs.MountInfoView) {
	v2 := string(v.FSType) == "cgroup2"
	if !v2 && string(v.FSType) != "cgroup" {
		return
	}
	if d.n == maxMounts || len(d.arena)+len(v.Root)+len(v.MountPoint) > cap(d.arena) {
		d.skip++
		return
	}
	m := &d.mounts[d.n]
	d.n++
	m.v2 = v2
	start := len(d.arena)
	d.arena = append(d.arena, v.Root...)
	m.root = d.arena[start:len(d.arena):len(d.arena)]
	start = len(d.arena)
	d.arena = append(d.arena, cleanPoint(v.MountPoint)...)
	m.point = d.arena[start:len(d.arena):len(d.arena)]
	m.ctrls, m.anyCtrl = 0, false
	if !v2 {
		for rest := v.SuperOptions; len(rest) > 0; {
			var opt []byte
			opt, rest, _ = bytes.Cut(rest, []byte(","))
			if c, ok := controllerByName(opt); ok {
				m.ctrls |= 1 << c
			}
			if isV1Controller(opt) {
				m.anyCtrl = true
			}
		}
	}
}

// cleanPoint makes a mount point absolute and lexically clean. The kernel
// writes mount points that way; a captured or forged mountinfo with "." or
// ".." components or doubled slashes is cleaned as if its root were "/", so
// that the directories and file paths built from it name files inside the
// root (they are opened inside it in any case). A clean point is returned
// as it is, without allocating.
func cleanPoint(p []byte) []byte {
	if len(p) > 0 && p[0] == '/' && !bytes.Contains(p, []byte("//")) &&
		!bytes.Contains(p, []byte("/./")) && !bytes.Contains(p, []byte("/../")) &&
		!bytes.HasSuffix(p, []byte("/.")) && !bytes.HasSuffix(p, []byte("/..")) &&
		(len(p) == 1 || p[len(p)-1] != '/') {
		return p
	}
	return []byte(path.Clean("/" + string(p)))
}

// layout classifies the mounts: hybrid when v1 controller mounts and a
// cgroup2 mount both exist. A v1 mount with only a name= hierarchy (systemd)
// has no controller and does not count.
func (d *discovery) layout() Layout {
	var v1, v2 bool
	for i := 0; i < d.n; i++ {
		if d.mounts[i].v2 {
			v2 = true
		} else if d.mounts[i].anyCtrl {
			v1 = true
		}
	}
	switch {
	case v1 && v2:
		return LayoutHybrid
	case v1:
		return LayoutV1
	case v2:
		return LayoutV2
	}
	return LayoutNone
}

// containsPath reports whether cgroup path p lies at or below mount root r,
// on a path boundary: root "/sand" does not contain "/sandbox/x". A path
// outside the cgroup namespace ("/../x") is contained only by a root that
// itself climbs out ("/.." or "/../.."). What is left of p below r must be
// plain names: the kernel never writes "." or ".." inside a cgroup path
// (only as the leading "/.." of a path outside the namespace), so a path
// that would climb above its mount is not contained.
func containsPath(r, p []byte) bool {
	var rel []byte
	switch {
	case len(r) == 1 && r[0] == '/':
		rel = p
	case !bytes.HasPrefix(p, r):
		return false
	case len(p) != len(r) && p[len(r)] != '/':
		return false
	default:
		rel = p[len(r):]
	}
	for len(rel) > 0 {
		var c []byte
		c, rel, _ = bytes.Cut(rel, []byte("/"))
		if string(c) == "." || string(c) == ".." {
			return false
		}
	}
	return true
}

// underSysFsCgroup prefers the conventional mount point when a hierarchy is
// mounted twice.
func underSysFsCgroup(point []byte) bool {
	const base = "/sys/fs/cgroup"
	return bytes.HasPrefix(point, []byte(base)) && (len(point) == len(base) || point[len(base)] == '/')
}

// bestMount picks the mount for a path among candidates: one whose root
// contains the path beats one that does not; then one under /sys/fs/cgroup;
// then the first listed. ok is false when there is no candidate; contained
// is false when the best one does not contain the path (degraded).
func (d *discovery) bestMount(path []byte, match func(*cgMount) bool) (idx int, contained, ok bool) {
	best, bestScore := -1, -1
	for i := 0; i < d.n; i++ {
		m := &d.mounts[i]
		if !match(m) || d.shadowed(i) {
			continue
		}
		score := 0
		if containsPath(m.root, path) {
			score += 2
		}
		if underSysFsCgroup(m.point) {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return 0, false, false
	}
	return best, bestScore >= 2, true
}

// shadowed reports whether a later mount sits on the same mount point as
// mount i: mountinfo lists mounts in the order they were made, and a mount
// over an existing mount point hides the earlier one (runc's bind-mounted
// cgroup view under a bind of the host's /sys/fs/cgroup, for example).
func (d *discovery) shadowed(i int) bool {
	for j := i + 1; j < d.n; j++ {
		if bytes.Equal(d.mounts[j].point, d.mounts[i].point) {
			return true
		}
	}
	return false
}

// rawLocation is a resolved location whose fields alias scratch memory.
type rawLocation struct {
	ok       bool
	version  int
	mount    *cgMount
	path     []byte
	degraded bool
}

// resolve assigns every controller a mount. v2Controllers reads the
// cgroup.controllers file of a cgroup2 mount point.
func (d *discovery) resolve(v2Controllers func(point []byte) (ctrlMask, error)) (locs [numControllers]rawLocation, err error) {
	// The cgroup2 mount, if the process has a 0:: line.
	var v2 *cgMount
	var v2Contained bool
	var v2Ctrls ctrlMask
	v2CtrlsRead := false // read cgroup.controllers only when a controller needs it
	if d.v2Path != nil {
		if i, contained, ok := d.bestMount(d.v2Path, func(m *cgMount) bool { return m.v2 }); ok {
			v2, v2Contained = &d.mounts[i], contained
		}
	}
	for c := Controller(0); c < numControllers; c++ {
		l := &locs[c]
		if c != Unified && d.v1Path[c] != nil {
			if i, contained, ok := d.bestMount(d.v1Path[c], func(m *cgMount) bool { return !m.v2 && m.ctrls.has(c) }); ok {
				*l = rawLocation{ok: true, version: 1, mount: &d.mounts[i], path: d.v1Path[c], degraded: !contained}
				continue
			}
		}
		if v2 == nil {
			continue
		}
		// cpu.stat's usage fields and the PSI files exist in every v2
		// cgroup whatever its controllers.
		if c != Unified && c != CPUAcct && !v2CtrlsRead {
			if v2Ctrls, err = v2Controllers(v2.point); err != nil {
				return locs, err
			}
			v2CtrlsRead = true
		}
		if c == Unified || c == CPUAcct || v2Ctrls.has(c) {
			*l = rawLocation{ok: true, version: 2, mount: v2, path: d.v2Path, degraded: !v2Contained}
		}
	}
	return locs, nil
}

// unresolved returns a controller that the process's /proc/self/cgroup
// places it in (a v1 line naming it, or the 0:: line for Unified) and
// that resolve found no mount for. With mounts dropped (skip > 0), its
// mount may be among them.
func (d *discovery) unresolved(locs *[numControllers]rawLocation) (Controller, bool) {
	for c := Controller(0); c < numControllers; c++ {
		if locs[c].ok {
			continue
		}
		if c == Unified && d.v2Path != nil || c != Unified && d.v1Path[c] != nil {
			return c, true
		}
	}
	return 0, false
}

// parseControllers parses a v2 cgroup.controllers file: controller names
// separated by spaces ("cpuset cpu io memory hugetlb pids rdma misc").
func parseControllers(data []byte) ctrlMask {
	var m ctrlMask
	for _, f := range bytes.Fields(data) {
		if c, ok := controllerByName(f); ok {
			m |= 1 << c
		}
	}
	return m
}

// appendDir appends the directory of a location: the mount point joined
// with the path after the mount root is stripped.
func appendDir(dst []byte, l *rawLocation) []byte {
	point := l.mount.point
	if l.degraded {
		return append(dst, point...)
	}
	rel := l.path
	if !(len(l.mount.root) == 1 && l.mount.root[0] == '/') {
		rel = rel[len(l.mount.root):]
	}
	dst = append(dst, point...)
	if len(rel) > 0 && !(len(rel) == 1 && rel[0] == '/') {
		if len(point) > 0 && point[len(point)-1] == '/' {
			rel = rel[1:]
		}
		dst = append(dst, rel...)
	}
	return dst
}

// String renders the discovery for error messages and debugging.
func (l rawLocation) String() string {
	if !l.ok {
		return "none"
	}
	return fmt.Sprintf("v%d %s (root %s) path %s", l.version, l.mount.point, l.mount.root, l.path)
}
