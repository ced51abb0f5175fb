package procfs

import (
	"bytes"
	"math"
)

// Unlimited is the value of a limit the kernel shows as "unlimited"
// (RLIM_INFINITY).
const Unlimited = math.MaxUint64

// Limit is one resource limit: the soft limit is what the kernel enforces,
// the hard limit how far the process may raise it. Unlimited means none.
type Limit struct {
	Soft, Hard uint64
}

// Limits holds the lines of /proc/<pid>/limits that concern the process
// table (proc_pid_limits(5)):
//
//	Limit                     Soft Limit           Hard Limit           Units
//	Max processes             63356                63356                processes
//	Max open files            1048576              1048576              files
type Limits struct {
	// OpenFiles is RLIMIT_NOFILE: the highest descriptor number + 1 the
	// process may open.
	HasOpenFiles bool
	OpenFiles    Limit
	// Processes is RLIMIT_NPROC: how many processes (threads included)
	// the process's real user may have, counted across the whole machine
	// rather than the container. Root is exempt.
	HasProcesses bool
	Processes    Limit
}

// ParseLimits parses a limits file. Lines other than the two it knows are
// ignored; a known line with a bad value is an error, and so is a file
// with neither (it is not a limits file).
func ParseLimits(data []byte) (Limits, error) {
	var l Limits
	for len(data) > 0 {
		var line []byte
		line, data = cutByte(data, '\n')
		var dst *Limit
		var has *bool
		var rest []byte
		switch {
		case bytes.HasPrefix(line, []byte("Max open files ")):
			dst, has, rest = &l.OpenFiles, &l.HasOpenFiles, line[len("Max open files "):]
		case bytes.HasPrefix(line, []byte("Max processes ")):
			dst, has, rest = &l.Processes, &l.HasProcesses, line[len("Max processes "):]
		default:
			continue
		}
		soft, rest := nextField(rest)
		hard, _ := nextField(rest)
		var ok1, ok2 bool
		dst.Soft, ok1 = parseLimit(soft)
		dst.Hard, ok2 = parseLimit(hard)
		if !ok1 || !ok2 {
			return Limits{}, malformed("limits line %q", line)
		}
		*has = true
	}
	if !l.HasOpenFiles && !l.HasProcesses {
		return Limits{}, malformed("neither \"Max open files\" nor \"Max processes\" present")
	}
	return l, nil
}

func parseLimit(b []byte) (uint64, bool) {
	if string(b) == "unlimited" {
		return Unlimited, true
	}
	return parseUint64(b)
}

// Limits reads <root>/proc/<pid>/limits; pid may be "self".
func (fs FS) Limits(pid string) (Limits, error) {
	data, n, err := fs.read(maxStatSize, pid, "limits")
	if err != nil {
		return Limits{}, err
	}
	l, err := ParseLimits(data)
	return l, fs.box(n, err)
}
