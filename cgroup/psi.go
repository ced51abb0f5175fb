package cgroup

import (
	"errors"
	"io/fs"

	"github.com/rightsize/rightsize/procfs"
)

// PSI is one resource's pressure stall information; see procfs.PSI.
type PSI = procfs.PSI

// PSILine is one line of a pressure file; see procfs.PSILine.
type PSILine = procfs.PSILine

// PressureStats holds the pressure stall information (PSI) of CPU, memory
// and I/O for the process: its v2 cgroup's cpu.pressure, memory.pressure
// and io.pressure (also present on hybrid hosts), or, where the process has
// no v2 cgroup with those files, the host's /proc/pressure files.
type PressureStats struct {
	HasCPU, HasMemory, HasIO bool
	CPU, Memory, IO          PSI
	// HostWide is set when the values describe every task on the host,
	// not the process's container: they come from /proc/pressure, or from
	// the root of the v2 hierarchy (a process in no v2 cgroup of its own).
	HostWide bool
}

var pressureFiles = [3]struct {
	id       fileID
	resource string
}{{fCPUPressure, "cpu"}, {fMemPressure, "memory"}, {fIOPressure, "io"}}

// readPressure reads the three pressure files. The caller holds g.mu.
func (g *Group) readPressure(p *PressureStats) error {
	dst := [3]*PSI{&p.CPU, &p.Memory, &p.IO}
	has := [3]*bool{&p.HasCPU, &p.HasMemory, &p.HasIO}
	var errs []error
	fromCgroup := false
	if g.have[Unified] {
		for i, f := range pressureFiles {
			data, present, err := g.read(Unified, 0, f.id)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !present {
				continue
			}
			if err := procfs.ParsePSI(data, dst[i]); err != nil {
				*dst[i] = PSI{} // nothing half read
				errs = append(errs, g.malformedFile(Unified, 0, f.id, err))
				continue
			}
			*has[i], fromCgroup = true, true
		}
	}
	if fromCgroup {
		p.HostWide = g.unifiedIsRoot()
		return errors.Join(errs...)
	}
	for i, f := range pressureFiles {
		if g.hostPSIAbsent&(1<<i) != 0 {
			continue
		}
		if g.hostPSI[i] == nil {
			h, err := g.proc.Open("pressure", f.resource)
			if errors.Is(err, fs.ErrNotExist) {
				g.hostPSIAbsent |= 1 << i
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			g.hostPSI[i] = h
		}
		data, err := g.hostPSI[i].Read(g.buf)
		if err == nil {
			err = procfs.ParsePSI(data, dst[i])
			if err != nil {
				err = &Error{Path: g.hostPSI[i].Path(), Err: err}
			}
		}
		if err != nil {
			*dst[i] = PSI{} // nothing half read
			errs = append(errs, err)
			continue
		}
		*has[i], p.HostWide = true, true
	}
	return errors.Join(errs...)
}
