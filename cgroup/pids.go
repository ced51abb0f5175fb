package cgroup

// PIDsLimit is the pids.max that binds the process and where it was found.
type PIDsLimit struct {
	Max int64
	Dir string
}

// PIDsLimit returns the smallest pids.max over the process's cgroup and its
// ancestors (Kubernetes often sets it at the pod level only). ok is false
// when every level says "max" or there is no pids controller.
func (g *Group) PIDsLimit() (PIDsLimit, bool, error) {
	if !g.have[PIDs] {
		return PIDsLimit{}, false, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
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
			best, found = PIDsLimit{Max: v, Dir: g.levels[PIDs][li].dir}, true
		}
	}
	return best, found, nil
}

// PIDsCurrent returns the number of tasks in the process's cgroup and its
// descendants (pids.current). It returns ErrNotAvailable without a pids
// controller.
func (g *Group) PIDsCurrent() (int64, error) {
	if !g.have[PIDs] {
		return 0, ErrNotAvailable
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v, present, err := g.readPIDsCurrent()
	if err == nil && !present {
		err = g.mustReadErr(PIDs, 0, fPIDsCurrent)
	}
	return v, err
}

// readPIDsCurrent reads pids.current; present is false where the cgroup has
// none (the v1 root).
func (g *Group) readPIDsCurrent() (v int64, present bool, err error) {
	data, present, err := g.read(PIDs, 0, fPIDsCurrent)
	if err != nil || !present {
		return 0, false, err
	}
	v, err = parseSingleInt(data)
	if err == nil && v < 0 {
		err = errMalformed("negative count %d", v)
	}
	if err != nil {
		return 0, false, g.malformedFile(PIDs, 0, fPIDsCurrent, err)
	}
	return v, true, nil
}
