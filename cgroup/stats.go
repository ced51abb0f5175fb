package cgroup

import (
	"errors"
	"time"
)

// Stats is a refresh of the usage counters of the process's cgroup, filled
// by ReadStats into memory the caller owns. Each Has field says whether the
// value next to it was read; a value whose file is absent (memory.peak
// before Linux 5.19, the files of a controller not enabled in the process's
// v2 cgroup, /proc/pressure on a kernel without PSI) is left unset without
// an error. Where the process has no v2 pressure files (on v1, for one),
// Pressure holds the host-wide values of /proc/pressure, with HostWide set.
type Stats struct {
	CPU      CPUStats
	Memory   MemoryStats
	PIDs     PIDsStats
	Pressure PressureStats
}

// CPUStats holds CPU usage and throttling.
type CPUStats struct {
	HasUsage bool
	// Usage is the CPU time consumed (v1 cpuacct.usage, v2 cpu.stat
	// usage_usec).
	Usage time.Duration
	// UsagePath is the file Usage was read from, inside the root. On v1
	// with cpu and cpuacct mounted apart (and the process in different
	// cgroups of the two) it is not in the directory of the CPU limit.
	UsagePath     string
	HasThrottling bool
	Throttling    Throttling
}

// Throttling holds the CFS bandwidth counters of the process's cgroup
// (cpu.stat).
type Throttling struct {
	// Periods is the number of enforcement periods that have elapsed with
	// runnable tasks (nr_periods).
	Periods uint64
	// ThrottledPeriods is the number of those in which the group was
	// throttled (nr_throttled).
	ThrottledPeriods uint64
	// ThrottledTime is the total time tasks were throttled (v1
	// throttled_time in ns, v2 throttled_usec).
	ThrottledTime time.Duration
}

// MemoryStats holds memory usage, in bytes.
type MemoryStats struct {
	HasUsage bool
	// Usage is memory.current (v2) or memory.usage_in_bytes (v1): all the
	// memory charged to the cgroup, page cache included.
	Usage int64

	HasWorkingSet bool
	// WorkingSet is Usage minus inactive_file (v1 total_inactive_file),
	// within [0, Usage]: what the kubelet evicts on.
	WorkingSet   int64
	InactiveFile int64
	// Anon is anonymous memory (v2 anon, v1 total_rss), File the page
	// cache (v2 file, v1 total_cache), Kernel the kernel memory charged to
	// the cgroup (v2 kernel, Linux 5.18+; HasKernel false elsewhere).
	Anon, File int64
	HasKernel  bool
	Kernel     int64
	// Shmem is the part of File that is shared memory (v2 shmem, v1
	// total_shmem): tmpfs and /dev/shm files, MAP_SHARED|MAP_ANONYMOUS
	// mappings, memfd. Without swap the kernel cannot reclaim it, as it
	// cannot reclaim Anon. Sock is the memory of network buffers (v2
	// sock; 0 on v1, which charges it to kmem.tcp), charged to the cgroup
	// and not part of Kernel.
	Shmem, Sock int64

	HasPeak bool
	// Peak is memory.peak (v2, Linux 5.19+) or memory.max_usage_in_bytes
	// (v1).
	Peak int64

	HasEvents bool
	Events    MemoryEvents
}

// MemoryEvents counts memory limit events of the process's cgroup
// (hierarchical on v2, memory.events). On v1 High is always 0 (no such
// limit), Max is memory.failcnt (times usage hit the memory limit; a
// memory+swap limit that binds first counts in memory.memsw.failcnt, not
// here) and OOM and OOMKill are memory.oom_control's oom_kill (Linux
// 4.13+).
type MemoryEvents struct {
	High, Max, OOM, OOMKill uint64
}

// PIDsStats holds the task count.
type PIDsStats struct {
	HasCurrent bool
	// Current is pids.current: tasks (processes and threads) in the
	// cgroup and its descendants.
	Current int64
}

// StatsSet selects the groups of values ReadStats refreshes; each costs
// one or a few preads.
type StatsSet uint

const (
	// StatsCPU: CPU usage (cpuacct.usage or cpu.stat) and throttling
	// (cpu.stat).
	StatsCPU StatsSet = 1 << iota
	// StatsMemory: memory usage, and from memory.stat the working set,
	// anonymous, file and kernel memory.
	StatsMemory
	// StatsMemoryPeak: memory.peak (v2) or memory.max_usage_in_bytes (v1).
	StatsMemoryPeak
	// StatsMemoryEvents: memory.events (v2) or memory.failcnt and
	// memory.oom_control (v1).
	StatsMemoryEvents
	// StatsPIDs: pids.current.
	StatsPIDs
	// StatsPressure: cpu.pressure, memory.pressure and io.pressure of the
	// process's v2 cgroup, or else the host-wide ones of /proc/pressure.
	StatsPressure

	// StatsCore is what a periodic refresh usually needs: CPU usage and
	// throttling, memory usage and working set, pids.
	StatsCore = StatsCPU | StatsMemory | StatsPIDs
	// StatsAll is everything Stats holds.
	StatsAll = StatsCore | StatsMemoryPeak | StatsMemoryEvents | StatsPressure
)

// ReadStats refreshes the values in set and clears the others. It reads
// each file at most once per call (on v2 one cpu.stat serves CPU usage and
// throttling), with pread into the handle's buffer; on a warm handle it
// allocates nothing unless a read fails. Controllers that are not mounted,
// and files that are absent, leave their fields unset without an error.
// Failures of individual files are collected into the returned error (each
// naming its file); the other fields are still filled.
func (g *Group) ReadStats(st *Stats, set StatsSet) error {
	if st == nil {
		return errors.New("cgroup: ReadStats into a nil *Stats")
	}
	*st = Stats{}
	if err := g.lock(); err != nil {
		return err
	}
	defer g.mu.Unlock()
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if set&StatsCPU != 0 {
		if g.cpuStatShared() {
			// One cpu.stat holds both: read it once.
			data, present, err := g.read(CPUAcct, 0, fCPUStat)
			add(err)
			if present {
				add(g.parseCPUUsageV2(data, &st.CPU))
				add(g.parseThrottling(CPUAcct, data, &st.CPU))
			}
		} else {
			if g.have[CPUAcct] {
				add(g.readCPUUsage(&st.CPU))
			}
			if g.have[CPU] {
				add(g.readThrottling(&st.CPU))
			}
		}
	}
	if g.have[Memory] {
		if set&StatsMemory != 0 {
			add(g.readMemoryUsage(&st.Memory))
		}
		if set&StatsMemoryPeak != 0 {
			add(g.readMemoryPeak(&st.Memory))
		}
		if set&StatsMemoryEvents != 0 {
			add(g.readMemoryEvents(&st.Memory))
		}
	}
	if set&StatsPIDs != 0 && g.have[PIDs] {
		v, present, err := g.readPIDsCurrent()
		add(err)
		st.PIDs = PIDsStats{HasCurrent: present, Current: v}
	}
	if set&StatsPressure != 0 {
		add(g.readPressure(&st.Pressure))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// cpuStatShared reports whether CPU usage and throttling come from the same
// file: with both the cpuacct and cpu locations on v2, each is the
// process's v2 cgroup and its cpu.stat.
func (g *Group) cpuStatShared() bool {
	return g.have[CPUAcct] && g.have[CPU] && g.locs[CPUAcct].Version == 2 && g.locs[CPU].Version == 2
}

// readCPUUsage reads v1 cpuacct.usage or v2 cpu.stat's usage_usec. An absent
// file leaves the usage unset, without an error. The caller holds g.mu.
func (g *Group) readCPUUsage(st *CPUStats) error {
	if g.locs[CPUAcct].Version == 1 {
		data, present, err := g.read(CPUAcct, 0, fCPUAcctUsage)
		if err != nil || !present {
			return err
		}
		v, err := parseSingleUint(data)
		var d time.Duration
		if err == nil {
			d, err = nanos("cpuacct.usage", v)
		}
		if err != nil {
			return g.malformedFile(CPUAcct, 0, fCPUAcctUsage, err)
		}
		st.Usage, st.HasUsage, st.UsagePath = d, true, g.levels[CPUAcct][0].path(fCPUAcctUsage)
		return nil
	}
	data, present, err := g.read(CPUAcct, 0, fCPUStat)
	if err != nil || !present {
		return err
	}
	return g.parseCPUUsageV2(data, st)
}

// parseCPUUsageV2 takes usage_usec from the content of the process's v2
// cpu.stat.
func (g *Group) parseCPUUsageV2(data []byte, st *CPUStats) error {
	var usage time.Duration
	found := false
	err := flatKeyed(data, func(k, v []byte) error {
		if string(k) != "usage_usec" {
			return nil
		}
		n, err := counter(k, v)
		if err == nil {
			usage, err = micros("usage_usec", n)
		}
		found = err == nil
		return err
	})
	if err == nil && !found {
		err = errMalformed("no usage_usec")
	}
	if err != nil {
		return g.malformedFile(CPUAcct, 0, fCPUStat, err)
	}
	st.Usage, st.HasUsage, st.UsagePath = usage, true, g.levels[CPUAcct][0].path(fCPUStat)
	return nil
}

// readThrottling reads the cpu controller's cpu.stat; an absent file leaves
// the throttling unset, without an error. The caller holds g.mu.
func (g *Group) readThrottling(st *CPUStats) error {
	data, present, err := g.read(CPU, 0, fCPUStat)
	if err != nil || !present {
		return err
	}
	return g.parseThrottling(CPU, data, st)
}

// parseThrottling parses cpu.stat, read from controller c's location: v1
// nr_periods, nr_throttled, throttled_time (ns); v2 nr_periods,
// nr_throttled, throttled_usec. v2 cpu.stat has no nr_* fields while the
// cpu controller is not enabled.
func (g *Group) parseThrottling(c Controller, data []byte, st *CPUStats) error {
	var t Throttling
	seen := 0
	err := flatKeyed(data, func(k, v []byte) error {
		switch string(k) {
		case "nr_periods", "nr_throttled", "throttled_time", "throttled_usec":
		default:
			return nil
		}
		n, err := counter(k, v)
		if err != nil {
			return err
		}
		switch string(k) {
		case "nr_periods":
			t.Periods = n
		case "nr_throttled":
			t.ThrottledPeriods = n
		case "throttled_time":
			t.ThrottledTime, err = nanos("throttled_time", n)
		case "throttled_usec":
			t.ThrottledTime, err = micros("throttled_usec", n)
		}
		seen++
		return err
	})
	if err == nil && seen == 3 && t.ThrottledPeriods > t.Periods {
		err = errMalformed("nr_throttled %d exceeds nr_periods %d", t.ThrottledPeriods, t.Periods)
	}
	if err != nil {
		return g.malformedFile(c, 0, fCPUStat, err)
	}
	if seen == 3 {
		st.Throttling, st.HasThrottling = t, true
	}
	return nil
}

// readMemoryUsage reads usage and, from memory.stat, the working set and
// the kinds of memory charged. An absent file leaves its values unset,
// without an error (the level records the absence; see read).
func (g *Group) readMemoryUsage(m *MemoryStats) error {
	v1 := g.locs[Memory].Version == 1
	usageID := fMemCurrent
	if v1 {
		usageID = fMemUsageV1
	}
	data, present, err := g.read(Memory, 0, usageID)
	if err != nil || !present {
		return err
	}
	u, err := parseSingleUint(data)
	if err == nil {
		m.Usage, err = toInt64(fileNames[usageID], u)
	}
	if err != nil {
		return g.malformedFile(Memory, 0, usageID, err)
	}
	m.HasUsage = true

	var ms memStat
	if present, err := g.readMemStat(&ms); err != nil || !present {
		return err
	}
	// Each value is at most the usage it is part of, so none overflows.
	clamp := func(k memStatKey) int64 {
		if ms.vals[k] > u {
			return m.Usage
		}
		return int64(ms.vals[k])
	}
	m.Anon, m.File = clamp(keyAnon), clamp(keyFile)
	if ms.has(keyKernel) {
		m.Kernel, m.HasKernel = clamp(keyKernel), true
	}
	m.Shmem, m.Sock = clamp(keyShmem), clamp(keySock)
	if ms.has(keyInactiveFile) {
		m.InactiveFile = clamp(keyInactiveFile)
		m.WorkingSet = m.Usage - m.InactiveFile
		m.HasWorkingSet = true
	}
	return nil
}

// readMemoryPeak reads memory.peak, absent before Linux 5.19 (not an error),
// or v1 memory.max_usage_in_bytes.
func (g *Group) readMemoryPeak(m *MemoryStats) error {
	peakID := fMemPeak
	if g.locs[Memory].Version == 1 {
		peakID = fMemMaxUsageV1
	}
	data, present, err := g.read(Memory, 0, peakID)
	if err != nil || !present {
		return err
	}
	v, err := parseSingleUint(data)
	if err == nil {
		m.Peak, err = toInt64(fileNames[peakID], v)
	}
	if err != nil {
		return g.malformedFile(Memory, 0, peakID, err)
	}
	m.HasPeak = true
	return nil
}

// readMemoryEvents reads memory.events (v2) or failcnt and oom_control (v1).
func (g *Group) readMemoryEvents(m *MemoryStats) error {
	if g.locs[Memory].Version == 2 {
		data, present, err := g.read(Memory, 0, fMemEvents)
		if err != nil || !present {
			return err
		}
		err = flatKeyed(data, func(k, v []byte) error {
			var dst *uint64
			switch string(k) {
			case "high":
				dst = &m.Events.High
			case "max":
				dst = &m.Events.Max
			case "oom":
				dst = &m.Events.OOM
			case "oom_kill":
				dst = &m.Events.OOMKill
			default:
				return nil
			}
			n, err := counter(k, v)
			*dst = n
			return err
		})
		if err != nil {
			m.Events = MemoryEvents{} // nothing half read
			return g.malformedFile(Memory, 0, fMemEvents, err)
		}
		m.HasEvents = true
		return nil
	}
	data, present, err := g.read(Memory, 0, fMemFailcntV1)
	if err != nil || !present {
		return err
	}
	failcnt, err := parseSingleUint(data)
	if err != nil {
		return g.malformedFile(Memory, 0, fMemFailcntV1, err)
	}
	data, present, err = g.read(Memory, 0, fMemOOMControlV1)
	if err != nil || !present {
		return err
	}
	var oomKill uint64
	err = flatKeyed(data, func(k, v []byte) error {
		if string(k) != "oom_kill" {
			return nil
		}
		n, err := counter(k, v)
		oomKill = n
		return err
	})
	if err != nil {
		return g.malformedFile(Memory, 0, fMemOOMControlV1, err)
	}
	m.Events = MemoryEvents{Max: failcnt, OOM: oomKill, OOMKill: oomKill}
	m.HasEvents = true
	return nil
}
