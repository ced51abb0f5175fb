package cgroup

import "math"

// MemoryLimit is a memory limit and where it was found.
type MemoryLimit struct {
	// Bytes is the limit.
	Bytes int64
	// Path is the file that gives it, inside the root: memory.max,
	// memory.high or memory.limit_in_bytes, in an ancestor's directory when
	// a parent is tighter; or the process's own v1 memory.stat when Key is
	// set.
	Path string
	// Key is set when the limit came from a key of memory.stat:
	// "hierarchical_memory_limit" (v1), which shows a limit set above the
	// visible hierarchy.
	Key string
}

// MemoryLimit returns the hard memory limit: the minimum over the process's
// cgroup and its ancestors up to the mount point of v2 memory.max or v1
// memory.limit_in_bytes; on v1 also memory.stat's hierarchical_memory_limit,
// which includes ancestors hidden by a bind-mounted root. ok is false when
// nothing limits memory ("max", v1's page-aligned LONG_MAX sentinel, or no
// memory controller). The value is the kernel's, not capped at host memory.
// A limit of 0, or a negative one, is not a limit but a malformed file.
func (g *Group) MemoryLimit() (MemoryLimit, bool, error) {
	if err := g.lock(); err != nil {
		return MemoryLimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[Memory] {
		return MemoryLimit{}, false, nil
	}
	if g.locs[Memory].Version == 2 {
		return g.minOverLevels(Memory, fMemMax)
	}
	lim, ok, err := g.minOverLevels(Memory, fMemLimitV1)
	if err != nil {
		return MemoryLimit{}, false, err
	}
	var ms memStat
	if err := g.readV1StatLimits(&ms); err != nil {
		return MemoryLimit{}, false, err
	}
	h, hok, err := g.v1StatLimit(&ms, keyHierMem)
	if err != nil {
		return MemoryLimit{}, false, err
	}
	if hok && (!ok || h.Bytes < lim.Bytes) {
		return h, true, nil
	}
	return lim, ok, nil
}

// MemoryHigh returns the v2 memory.high throttle limit, minimum over the
// hierarchy: above it the kernel throttles and reclaims, it does not
// OOM-kill. ok is false on v1 (which has no such limit) and when every level
// says "max".
func (g *Group) MemoryHigh() (MemoryLimit, bool, error) {
	if err := g.lock(); err != nil {
		return MemoryLimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[Memory] || g.locs[Memory].Version != 2 {
		return MemoryLimit{}, false, nil
	}
	return g.minOverLevels(Memory, fMemHigh)
}

// SwapLimit returns how much swap the process's cgroup may use beyond its
// memory limit: v2 memory.swap.max (minimum over the hierarchy); v1 the
// memory+swap limit minus the memory limit, each the minimum of the
// visible levels' files (memory.memsw.limit_in_bytes,
// memory.limit_in_bytes) and of memory.stat's hierarchical_memsw_limit and
// hierarchical_memory_limit, which cover ancestors the view hides. The
// Path is the file of the swap limit (on v1 the memory+swap file, or
// memory.stat with its Key). ok is false when unlimited or when swap is not
// accounted (the files are absent without swap accounting; that is not an
// error).
func (g *Group) SwapLimit() (MemoryLimit, bool, error) {
	if err := g.lock(); err != nil {
		return MemoryLimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[Memory] {
		return MemoryLimit{}, false, nil
	}
	if g.locs[Memory].Version == 2 {
		return g.minOverLevelsZero(Memory, fMemSwapMax, true, nil)
	}
	// An absent memsw file at the process's cgroup means no swap
	// accounting. Each file is read once: the walk's first level tells
	// whether the memsw file exists, and one memory.stat serves both
	// hierarchical limits.
	var accounted bool
	sw, swok, err := g.minOverLevelsZero(Memory, fMemMemswLimitV1, false, &accounted)
	if err != nil || !accounted {
		return MemoryLimit{}, false, err
	}
	var ms memStat
	if err := g.readV1StatLimits(&ms); err != nil {
		return MemoryLimit{}, false, err
	}
	if h, hok, err := g.v1StatLimit(&ms, keyHierMemsw); err != nil {
		return MemoryLimit{}, false, err
	} else if hok && (!swok || h.Bytes < sw.Bytes) {
		sw, swok = h, true
	}
	if !swok {
		return MemoryLimit{}, false, nil
	}
	mem, mok, err := g.minOverLevels(Memory, fMemLimitV1)
	if err != nil {
		return MemoryLimit{}, false, err
	}
	if h, hok, err := g.v1StatLimit(&ms, keyHierMem); err != nil {
		return MemoryLimit{}, false, err
	} else if hok && (!mok || h.Bytes < mem.Bytes) {
		mem, mok = h, true
	}
	if mok {
		// Memory+swap minus memory; with memory alone unlimited all of
		// it may be swap.
		sw.Bytes = max(sw.Bytes-mem.Bytes, 0)
	}
	return sw, true, nil
}

// minOverLevels walks from the process's cgroup to the mount point and
// returns the smallest limit in file id. v2 levels without the file (the
// root, or a level where the controller is not enabled) are skipped; on v1
// every level has the file and its absence is an error. Values are "max" or
// bytes (v2) or bytes with the LONG_MAX sentinel (v1). Zero is not a usable
// limit and is reported as malformed.
func (g *Group) minOverLevels(c Controller, id fileID) (MemoryLimit, bool, error) {
	return g.minOverLevelsZero(c, id, false, nil)
}

// minOverLevelsZero is minOverLevels; zeroOK accepts 0 as a value (a swap
// limit of 0 means "no swap"). With leaf set the file is optional, also on
// v1: *leaf reports whether the process's own cgroup has it (false at a v1
// hierarchy's root, which the walk excludes), its absence there ends the
// walk, and levels above without it are skipped.
func (g *Group) minOverLevelsZero(c Controller, id fileID, zeroOK bool, leaf *bool) (MemoryLimit, bool, error) {
	v2 := g.locs[c].Version == 2
	best := MemoryLimit{Bytes: math.MaxInt64}
	found := false
	n := len(g.levels[c])
	if !v2 {
		n = g.v1Levels(c)
	}
	if leaf != nil {
		// At a v1 hierarchy's root the walk has no level: no limit can be
		// set there, whatever the file says, so it is not read.
		*leaf = false
	}
	for li := 0; li < n; li++ {
		data, present, err := g.read(c, li, id)
		if err != nil {
			return MemoryLimit{}, false, err
		}
		if li == 0 && leaf != nil {
			*leaf = present
			if !present {
				return MemoryLimit{}, false, nil
			}
		}
		if !present {
			if v2 || leaf != nil {
				continue
			}
			return MemoryLimit{}, false, g.absentErr(c, li, id)
		}
		var v int64
		var limited bool
		if v2 {
			v, limited, err = parseMaxOrInt(data)
		} else if u, uerr := parseSingleUint(data); uerr == nil && u > math.MaxInt64 {
			// Linux 3.12–3.18 write "no limit" as 2^64-1 (the
			// page_counter's unsigned maximum), later kernels as
			// LONG_MAX rounded to the page: both are no limit.
			limited = false
		} else {
			v, err = parseSingleInt(data)
			limited = err == nil && !v1Unlimited(v)
			if err == nil && v < 0 {
				err = errMalformed("negative limit %d", v)
			}
		}
		if err == nil && limited && v == 0 && !zeroOK {
			err = errMalformed("a limit of 0 bytes is not usable")
		}
		if err != nil {
			return MemoryLimit{}, false, g.malformedFile(c, li, id, err)
		}
		if limited && v < best.Bytes {
			best = MemoryLimit{Bytes: v, Path: g.levels[c][li].path(id)}
			found = true
		}
	}
	if !found {
		return MemoryLimit{}, false, nil
	}
	return best, true, nil
}

// readV1StatLimits reads the leaf's v1 memory.stat for its hierarchical_*
// limits, which are set when use_hierarchy is on and cover ancestors that a
// container's bind-mounted or namespaced view does not show. When the walk
// reached the hierarchy's root there are none, and the (costly) file is not
// read: ms is left empty. An absent memory.stat is an error (every v1 memory
// cgroup has one).
func (g *Group) readV1StatLimits(ms *memStat) error {
	*ms = memStat{}
	if g.walkReachesRoot(Memory) {
		// The walk saw every ancestor: nothing is hidden above it.
		return nil
	}
	present, err := g.readMemStat(ms)
	if err == nil && !present {
		err = g.absentErr(Memory, 0, fMemStat)
	}
	return err
}

// v1StatLimit returns the hierarchical_* limit key of ms, as read by
// readV1StatLimits; ok is false when the key is absent or unlimited.
func (g *Group) v1StatLimit(ms *memStat, key memStatKey) (MemoryLimit, bool, error) {
	if !ms.has(key) {
		return MemoryLimit{}, false, nil
	}
	v := ms.vals[key]
	switch {
	case ms.neg(key):
		return MemoryLimit{}, false, g.malformedFile(Memory, 0, fMemStat, errMalformed("%s is negative", memStatKeys[key].v1))
	case v > math.MaxInt64 || v1Unlimited(int64(v)):
		return MemoryLimit{}, false, nil
	case v == 0:
		return MemoryLimit{}, false, g.malformedFile(Memory, 0, fMemStat, errMalformed("%s 0 is not a usable limit", memStatKeys[key].v1))
	}
	return MemoryLimit{Bytes: int64(v), Path: g.levels[Memory][0].path(fMemStat), Key: memStatKeys[key].v1}, true, nil
}
