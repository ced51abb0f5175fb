package cgroup

import (
	"errors"
	"time"
)

// Stats is a refresh of the usage counters of the process's cgroup, filled
// by ReadStats into memory the caller owns. Each Has field says whether the
// value next to it was read; a value whose file is absent for the layout
// (no pressure files on v1, no memory.peak before Linux 5.19) is left unset
// without an error.
type Stats struct {
	CPU      CPUStats      `json:"cpu"`
	Memory   MemoryStats   `json:"memory"`
	PIDs     PIDsStats     `json:"pids"`
	Pressure PressureStats `json:"pressure"`
}

// CPUStats holds CPU usage and throttling.
type CPUStats struct {
	HasUsage      bool          `json:"hasUsage"`
	Usage         time.Duration `json:"usageNs"`
	HasThrottling bool          `json:"hasThrottling"`
	Throttling    Throttling    `json:"throttling"`
}

// MemoryStats holds memory usage.
type MemoryStats struct {
	HasUsage bool `json:"hasUsage"`
	// Usage is memory.current (v2) or memory.usage_in_bytes (v1).
	Usage int64 `json:"usage"`

	HasWorkingSet bool `json:"hasWorkingSet"`
	// WorkingSet is Usage minus inactive_file (v1 total_inactive_file),
	// floored at 0: what the kubelet evicts on.
	WorkingSet   int64 `json:"workingSet"`
	InactiveFile int64 `json:"inactiveFile"`

	HasPeak bool `json:"hasPeak"`
	// Peak is memory.peak (v2, Linux 5.19+) or memory.max_usage_in_bytes
	// (v1).
	Peak int64 `json:"peak"`

	HasEvents bool         `json:"hasEvents"`
	Events    MemoryEvents `json:"events"`
}

// MemoryEvents counts memory limit events of the process's cgroup
// (hierarchical on v2, memory.events). On v1 High is always 0 (no such
// limit), Max is memory.failcnt (times usage hit the limit) and OOM and
// OOMKill are memory.oom_control's oom_kill (Linux 4.13+).
type MemoryEvents struct {
	High    uint64 `json:"high"`
	Max     uint64 `json:"max"`
	OOM     uint64 `json:"oom"`
	OOMKill uint64 `json:"oomKill"`
}

// PIDsStats holds the task count.
type PIDsStats struct {
	HasCurrent bool  `json:"hasCurrent"`
	Current    int64 `json:"current"`
}

// PressureStats holds the v2 PSI files of the process's unified cgroup (also
// present on hybrid hosts).
type PressureStats struct {
	HasCPU    bool `json:"hasCPU"`
	HasMemory bool `json:"hasMemory"`
	HasIO     bool `json:"hasIO"`
	CPU       PSI  `json:"cpu"`
	Memory    PSI  `json:"memory"`
	IO        PSI  `json:"io"`
}

// StatsSet selects the groups of values ReadStatsOf refreshes; each costs
// one or a few preads.
type StatsSet uint

const (
	// StatsCPU: CPU usage (cpuacct.usage or cpu.stat) and throttling
	// (cpu.stat).
	StatsCPU StatsSet = 1 << iota
	// StatsMemory: memory usage and the working set (memory.stat).
	StatsMemory
	// StatsMemoryPeak: memory.peak (v2) or memory.max_usage_in_bytes (v1).
	StatsMemoryPeak
	// StatsMemoryEvents: memory.events (v2) or memory.failcnt and
	// memory.oom_control (v1).
	StatsMemoryEvents
	// StatsPIDs: pids.current.
	StatsPIDs
	// StatsPressure: cpu.pressure, memory.pressure and io.pressure.
	StatsPressure

	// StatsCore is what a periodic refresh usually needs: CPU usage and
	// throttling, memory usage and working set, pids.
	StatsCore = StatsCPU | StatsMemory | StatsPIDs
	// StatsAll is everything Stats holds.
	StatsAll = StatsCore | StatsMemoryPeak | StatsMemoryEvents | StatsPressure
)

// ReadStats refreshes every field of st (StatsAll): CPU usage and
// throttling, memory usage, working set, peak and events, pids.current and
// pressure. See ReadStatsOf.
func (g *Group) ReadStats(st *Stats) error { return g.ReadStatsOf(st, StatsAll) }

// ReadStatsOf refreshes the values in set and clears the others. It reads
// each file once with pread into the handle's buffer and allocates nothing
// when every read succeeds. Controllers that are not mounted leave their
// fields unset. Failures of individual files are collected into the
// returned error (each naming its file); the other fields are still filled.
func (g *Group) ReadStatsOf(st *Stats, set StatsSet) error {
	*st = Stats{}
	g.mu.Lock()
	defer g.mu.Unlock()
	var errs []error
	add := func(err error) {
		if err != nil && !errors.Is(err, ErrNotAvailable) {
			errs = append(errs, err)
		}
	}
	if set&StatsCPU != 0 {
		if g.have[CPUAcct] {
			add(g.readCPUUsage(&st.CPU))
		}
		if g.have[CPU] {
			add(g.readThrottling(&st.CPU))
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
	if set&StatsPressure != 0 && g.have[Unified] {
		add(g.readPressure(fCPUPressure, &st.Pressure.CPU, &st.Pressure.HasCPU))
		add(g.readPressure(fMemPressure, &st.Pressure.Memory, &st.Pressure.HasMemory))
		add(g.readPressure(fIOPressure, &st.Pressure.IO, &st.Pressure.HasIO))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// readMemoryUsage reads usage and, from memory.stat, the working set.
func (g *Group) readMemoryUsage(m *MemoryStats) error {
	v1 := g.locs[Memory].Version == 1
	usageID := fMemCurrent
	if v1 {
		usageID = fMemUsageV1
	}
	data, err := g.mustRead(Memory, 0, usageID)
	if err != nil {
		return err
	}
	if m.Usage, err = parseSingleInt(data); err != nil {
		return g.malformedFile(Memory, 0, usageID, err)
	}
	m.HasUsage = true

	data, err = g.mustRead(Memory, 0, fMemStat)
	if err != nil {
		return err
	}
	key := "inactive_file"
	if v1 {
		key = "total_inactive_file"
	}
	found := false
	err = flatKeyed(data, func(k []byte, v uint64) {
		if string(k) == key {
			m.InactiveFile, found = int64(v), true
		}
	})
	if err != nil {
		return g.malformedFile(Memory, 0, fMemStat, err)
	}
	if found {
		m.WorkingSet = m.Usage - m.InactiveFile
		if m.WorkingSet < 0 {
			m.WorkingSet = 0
		}
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
	if m.Peak, err = parseSingleInt(data); err != nil {
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
		err = flatKeyed(data, func(k []byte, v uint64) {
			switch string(k) {
			case "high":
				m.Events.High = v
			case "max":
				m.Events.Max = v
			case "oom":
				m.Events.OOM = v
			case "oom_kill":
				m.Events.OOMKill = v
			}
		})
		if err != nil {
			return g.malformedFile(Memory, 0, fMemEvents, err)
		}
		m.HasEvents = true
		return nil
	}
	data, present, err := g.read(Memory, 0, fMemFailcntV1)
	if err != nil || !present {
		return err
	}
	failcnt, err := parseSingleInt(data)
	if err != nil {
		return g.malformedFile(Memory, 0, fMemFailcntV1, err)
	}
	m.Events.Max = uint64(failcnt)
	data, present, err = g.read(Memory, 0, fMemOOMControlV1)
	if err != nil || !present {
		return err
	}
	err = flatKeyed(data, func(k []byte, v uint64) {
		if string(k) == "oom_kill" {
			m.Events.OOM, m.Events.OOMKill = v, v
		}
	})
	if err != nil {
		return g.malformedFile(Memory, 0, fMemOOMControlV1, err)
	}
	m.HasEvents = true
	return nil
}

// readPressure reads one PSI file; absent files (PSI disabled, or v1 only)
// leave has false.
func (g *Group) readPressure(id fileID, p *PSI, has *bool) error {
	data, present, err := g.read(Unified, 0, id)
	if err != nil || !present {
		return err
	}
	if err := parsePSI(data, p); err != nil {
		return g.malformedFile(Unified, 0, id, err)
	}
	*has = true
	return nil
}
