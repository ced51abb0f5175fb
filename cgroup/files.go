package cgroup

import "github.com/rightsize/rightsize/internal/capturehook"

// The file table: every cgroup file a handle may read, one ID per distinct
// file name (cpu.stat, memory.stat, pids.max and pids.current have the same
// name on v1 and v2). See Documentation/admin-guide/cgroup-v2.rst
// ("Interface Files") and cgroup-v1/{cpuacct,cpusets,memory,pids}.rst.

type fileID uint8

const (
	fCPUMax fileID = iota
	fCFSQuota
	fCFSPeriod
	fCPUShares
	fCPUWeight
	fCPUStat
	fCPUAcctUsage
	fCPUSetEffectiveV1
	fCPUSetCPUsV1
	fCPUSetEffective
	fMemLimitV1
	fMemUsageV1
	fMemMaxUsageV1
	fMemMemswLimitV1
	fMemFailcntV1
	fMemOOMControlV1
	fMemMax
	fMemHigh
	fMemCurrent
	fMemPeak
	fMemSwapMax
	fMemEvents
	fMemStat
	fPIDsMax
	fPIDsCurrent
	fCPUPressure
	fMemPressure
	fIOPressure
	numFiles
)

var fileNames = [numFiles]string{
	fCPUMax:            "cpu.max",
	fCFSQuota:          "cpu.cfs_quota_us",
	fCFSPeriod:         "cpu.cfs_period_us",
	fCPUShares:         "cpu.shares",
	fCPUWeight:         "cpu.weight",
	fCPUStat:           "cpu.stat",
	fCPUAcctUsage:      "cpuacct.usage",
	fCPUSetEffectiveV1: "cpuset.effective_cpus",
	fCPUSetCPUsV1:      "cpuset.cpus",
	fCPUSetEffective:   "cpuset.cpus.effective",
	fMemLimitV1:        "memory.limit_in_bytes",
	fMemUsageV1:        "memory.usage_in_bytes",
	fMemMaxUsageV1:     "memory.max_usage_in_bytes",
	fMemMemswLimitV1:   "memory.memsw.limit_in_bytes",
	fMemFailcntV1:      "memory.failcnt",
	fMemOOMControlV1:   "memory.oom_control",
	fMemMax:            "memory.max",
	fMemHigh:           "memory.high",
	fMemCurrent:        "memory.current",
	fMemPeak:           "memory.peak",
	fMemSwapMax:        "memory.swap.max",
	fMemEvents:         "memory.events",
	fMemStat:           "memory.stat",
	fPIDsMax:           "pids.max",
	fPIDsCurrent:       "pids.current",
	fCPUPressure:       "cpu.pressure",
	fMemPressure:       "memory.pressure",
	fIOPressure:        "io.pressure",
}

// files lists the cgroup files the handle's readers may read, as paths
// inside the root, for the controllers found: every level's files that
// exist, each v2 mount's cgroup.controllers, each v1 hierarchy top's
// cgroup.sane_behavior marker and the unified cgroup's cgroup.procs and
// cgroup.type (which tell a hierarchy root). It is what a capture copies so
// that the tree reads the same under WithRoot; the command reaches the
// entries behind it through capturehook.CgroupEntries. It stats files and
// allocates; it is not for hot paths.
func (g *Group) files() ([]string, error) {
	entries, err := g.entries()
	var out []string
	for _, e := range entries {
		if e.Mode.IsRegular() {
			out = append(out, e.Path)
		}
	}
	return out, err
}

// entries is files with every existing candidate, whatever its type.
func (g *Group) entries() ([]capturehook.Entry, error) {
	if err := g.lock(); err != nil {
		return nil, err
	}
	defer g.mu.Unlock()
	seen := map[string]bool{}
	var out []capturehook.Entry
	add := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		if info, err := g.root.Lstat(p); err == nil {
			out = append(out, capturehook.Entry{Path: p, Mode: info.Mode})
		}
	}
	for c := range g.locs {
		if !g.have[c] {
			continue
		}
		loc := g.locs[c]
		if loc.Version == 2 {
			add(joinDir(loc.MountPoint, "cgroup.controllers"))
		} else {
			add(joinDir(g.levels[c][len(g.levels[c])-1].dir, "cgroup.sane_behavior"))
		}
		if Controller(c) == Unified {
			add(joinDir(loc.Dir, "cgroup.procs"))
			add(joinDir(loc.Dir, "cgroup.type"))
		}
		for _, lv := range g.levels[c] {
			for _, name := range fileNames {
				add(joinDir(lv.dir, name))
			}
		}
	}
	return out, nil
}
