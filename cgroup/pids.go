package cgroup

// PIDsLimit is the pids.max that binds the process and where it was found.
type PIDsLimit struct {
	// Max is the most tasks (processes and threads) the cgroup may hold;
	// 0 is a valid limit (no new task may start).
	Max int64
	// Path is the pids.max file that sets it, inside the root.
	Path string
}

// PIDsLimit returns the smallest pids.max over the process's cgroup and its
// ancestors (Kubernetes often sets it at the pod level only). ok is false
// when every level says "max" or there is no pids controller.
func (g *Group) PIDsLimit() (PIDsLimit, bool, error) {
	if err := g.lock(); err != nil {
		return PIDsLimit{}, false, err
	}
	defer g.mu.Unlock()
	if !g.have[PIDs] {
		return PIDsLimit{}, false, nil
	}
	var best PIDsLimit
	found := false
	for li := range g.levels[PIDs] {
		// The root of either version has no pids.max.
		data, present, err := g.read(PIDs, li, fPIDsMax)
		if err != nil {
			return PIDsLimit{}, false, err
		}
		if !present {
			continue
		}
		v, limited, err := parseMaxOrInt(data)
		if err != nil {
			return PIDsLimit{}, false, g.malformedFile(PIDs, li, fPIDsMax, err)
		}
		if limited && (!found || v < best.Max) {
			best, found = PIDsLimit{Max: v, Path: g.levels[PIDs][li].path(fPIDsMax)}, true
		}
	}
	return best, found, nil
}

// readPIDsCurrent reads pids.current; present is false where the cgroup has
// none (the v1 root). The caller holds g.mu.
func (g *Group) readPIDsCurrent() (v int64, present bool, err error) {
	data, present, err := g.read(PIDs, 0, fPIDsCurrent)
	if err != nil || !present {
		return 0, false, err
	}
	n, err := parseSingleUint(data)
	if err == nil {
		v, err = toInt64("pids.current", n)
	}
	if err != nil {
		return 0, false, g.malformedFile(PIDs, 0, fPIDsCurrent, err)
	}
	return v, true, nil
}
