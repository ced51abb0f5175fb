package cgroup

import (
	"math"
)

// MemoryLimit is a memory limit and where it was found.
type MemoryLimit struct {
	// Bytes is the limit.
	Bytes int64
	// Dir is the directory (without the root prefix) whose file sets the
	// limit; an ancestor when a parent is tighter.
	Dir string
	// File is the file that gave it, e.g. "memory.max",
	// "memory.limit_in_bytes", or "memory.stat" when v1's
	// hierarchical_memory_limit showed a limit set above the visible
	// hierarchy.
	File string
}

// MemoryLimit returns the hard memory limit: the minimum over the process's
// cgroup and its ancestors up to the mount point of v2 memory.max or v1
// memory.limit_in_bytes; on v1 also memory.stat's hierarchical_memory_limit,
// which includes ancestors hidden by a bind-mounted root. ok is false when
// nothing limits memory ("max", v1's page-aligned LONG_MAX sentinel, or no
// memory controller). The value is the kernel's, not capped at host memory.
func (g *Group) MemoryLimit() (MemoryLimit, bool, error) {
	if !g.have[Memory] {
		return MemoryLimit{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.locs[Memory].Version == 2 {
		return g.minOverLevels(Memory, fMemMax)
	}
	lim, ok, err := g.minOverLevels(Memory, fMemLimitV1)
	if err != nil {
		return MemoryLimit{}, false, err
	}
	h, hok, err := g.v1StatLimit("hierarchical_memory_limit")
	if err != nil {
		return MemoryLimit{}, false, err
	}
	if hok && (!ok || h < lim.Bytes) {
		return MemoryLimit{Bytes: h, Dir: g.levels[Memory][0].dir, File: fileNames[fMemStat]}, true, nil
	}
	return lim, ok, nil
}

// MemoryHigh returns the v2 memory.high throttle limit, minimum over the
// hierarchy: above it the kernel throttles and reclaims, it does not
// OOM-kill. ok is false on v1 (which has no such limit) and when every level
// says "max".
func (g *Group) MemoryHigh() (MemoryLimit, bool, error) {
	if !g.have[Memory] || g.locs[Memory].Version != 2 {
		return MemoryLimit{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.minOverLevels(Memory, fMemHigh)
}

// SwapLimit returns how much swap the process's cgroup may use beyond its
// memory limit: v2 memory.swap.max (minimum over the hierarchy); v1
// memory.memsw.limit_in_bytes minus memory.limit_in_bytes (each a hierarchy
// minimum). ok is false when unlimited or when swap is not accounted (the
// files are absent without swap accounting; that is not an error).
func (g *Group) SwapLimit() (int64, bool, error) {
	if !g.have[Memory] {
		return 0, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.locs[Memory].Version == 2 {
		l, ok, err := g.minOverLevels(Memory, fMemSwapMax)
		return l.Bytes, ok, err
	}
	// Absent memsw files mean no swap accounting.
	if _, present, err := g.read(Memory, 0, fMemMemswLimitV1); err != nil || !present {
		return 0, false, err
	}
	sw, ok, err := g.minOverLevels(Memory, fMemMemswLimitV1)
	if err != nil || !ok {
		return 0, false, err
	}
	if h, hok, err := g.v1StatLimit("hierarchical_memsw_limit"); err != nil {
		return 0, false, err
	} else if hok && h < sw.Bytes {
		sw.Bytes = h
	}
	mem, mok, err := g.minOverLevels(Memory, fMemLimitV1)
	if err != nil {
		return 0, false, err
	}
	if h, hok, err := g.v1StatLimit("hierarchical_memory_limit"); err != nil {
		return 0, false, err
	} else if hok && (!mok || h < mem.Bytes) {
		mem.Bytes, mok = h, true
	}
	if !mok {
		return 0, false, nil
	}
	swap := sw.Bytes - mem.Bytes
	if swap < 0 {
		swap = 0
	}
	return swap, true, nil
}

// minOverLevels walks from the process's cgroup to the mount point and
// returns the smallest limit in file id. v2 levels without the file (the
// root, or a level where the controller is not enabled) are skipped; on v1
// every level has the file and its absence is an error. Values are "max" or
// bytes (v2) or bytes with the LONG_MAX sentinel (v1).
func (g *Group) minOverLevels(c Controller, id fileID) (MemoryLimit, bool, error) {
	v2 := g.locs[c].Version == 2
	best := MemoryLimit{Bytes: math.MaxInt64}
	found := false
	n := len(g.levels[c])
	if !v2 {
		n = g.v1Levels(c)
	}
	for li := 0; li < n; li++ {
		data, present, err := g.read(c, li, id)
		if err != nil {
			return MemoryLimit{}, false, err
		}
		if !present {
			if v2 || id == fMemMemswLimitV1 {
				continue
			}
			return MemoryLimit{}, false, g.mustReadErr(c, li, id)
		}
		var v int64
		var limited bool
		if v2 {
			v, limited, err = parseMaxOrInt(data)
		} else {
			v, err = parseSingleInt(data)
			limited = err == nil && !v1Unlimited(v)
			if err == nil && v < 0 {
				err = errMalformed("negative limit %d", v)
			}
		}
		if err != nil {
			return MemoryLimit{}, false, g.malformedFile(c, li, id, err)
		}
		if limited && v < best.Bytes {
			best = MemoryLimit{Bytes: v, Dir: g.levels[c][li].dir, File: fileNames[id]}
			found = true
		}
	}
	if !found {
		return MemoryLimit{}, false, nil
	}
	return best, true, nil
}

func (g *Group) mustReadErr(c Controller, li int, id fileID) error {
	_, err := g.mustRead(c, li, id)
	return err
}

// v1StatLimit reads a hierarchical_* limit from the leaf's v1 memory.stat.
// It is set when use_hierarchy is on and covers ancestors that a container's
// bind-mounted or namespaced view does not show; when the walk reached the
// hierarchy's root there are none, and the (costly) file is not read.
func (g *Group) v1StatLimit(key string) (int64, bool, error) {
	if g.walkReachesRoot(Memory) {
		// The walk saw every ancestor: nothing is hidden above it.
		return 0, false, nil
	}
	data, err := g.mustRead(Memory, 0, fMemStat)
	if err != nil {
		return 0, false, err
	}
	var v uint64
	found := false
	if err := flatKeyed(data, func(k []byte, val uint64) {
		if string(k) == key {
			v, found = val, true
		}
	}); err != nil {
		return 0, false, g.malformedFile(Memory, 0, fMemStat, err)
	}
	if !found || v > math.MaxInt64 || v1Unlimited(int64(v)) {
		return 0, false, nil
	}
	return int64(v), true, nil
}

// MemoryUsage returns the memory charged to the process's cgroup (v1
// memory.usage_in_bytes, v2 memory.current), page cache included. It returns
// ErrNotAvailable without a memory controller.
func (g *Group) MemoryUsage() (int64, error) {
	if !g.have[Memory] {
		return 0, ErrNotAvailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	id := fMemCurrent
	if g.locs[Memory].Version == 1 {
		id = fMemUsageV1
	}
	data, err := g.mustRead(Memory, 0, id)
	if err != nil {
		return 0, err
	}
	v, err := parseSingleInt(data)
	if err == nil && v < 0 {
		err = errMalformed("negative usage %d", v)
	}
	if err != nil {
		return 0, g.malformedFile(Memory, 0, id, err)
	}
	return v, nil
}
