package procfs

import (
	"bytes"
	"math"
)

// ProcStat holds the fields of /proc/<pid>/stat that rightsize uses
// (proc_pid_stat(5)): one line, the command name in parentheses (it may
// itself hold spaces and parentheses, so the last ')' ends it), then
// space-separated fields:
//
//	1234 (my server) S 1 1234 1234 0 -1 4194560 ... 12 0 8812 ...
//	pid  comm        state ppid ...           num_threads ... starttime
type ProcStat struct {
	// PID is the process ID, in the PID namespace of the /proc mount.
	PID int
	// Comm is the command name (at most 15 bytes for a process, longer
	// for some kernel threads).
	Comm string
	// State is the one-letter state: R running, S sleeping, D disk
	// sleep, Z zombie, T stopped, t tracing stop, X dead, I idle.
	State byte
	// PPID is the parent's PID; 0 for a process whose parent is outside
	// the PID namespace (PID 1 of a container, a process `runc exec`
	// started).
	PPID int
	// NumThreads is the number of threads (0 for a zombie on older
	// kernels, 1 on newer ones).
	NumThreads int
	// StartTime is when the process started, in clock ticks (USER_HZ,
	// 100 on every Linux architecture) after boot.
	StartTime uint64
}

// Zombie reports whether the process has exited and waits for its parent
// to reap it.
func (s ProcStat) Zombie() bool { return s.State == 'Z' }

// ParseProcStat parses a /proc/<pid>/stat line.
func ParseProcStat(data []byte) (ProcStat, error) {
	c, err := parseStat(data)
	if err != nil {
		return ProcStat{}, err
	}
	return ProcStat{PID: c.pid, Comm: string(data[c.commStart:c.commEnd]), State: c.state, PPID: c.ppid, NumThreads: c.threads, StartTime: c.start}, nil
}

// ProcStat reads <root>/proc/<pid>/stat; pid may be "self".
func (fs FS) ProcStat(pid string) (ProcStat, error) {
	data, n, err := fs.read(maxStatSize, pid, "stat")
	if err != nil {
		return ProcStat{}, err
	}
	s, err := ParseProcStat(data)
	return s, fs.box(n, err)
}

// maxStatSize bounds a stat line: 52 numbers of at most 20 digits and a
// command name of at most 64 bytes fit in about 1.2 KiB.
const maxStatSize = 4 << 10

// statCore is what the scanners need of a stat line; parsing it allocates
// nothing.
type statCore struct {
	pid, ppid, threads int
	state              byte
	start              uint64
	commStart, commEnd int
}

// parseStat parses a stat line without allocating. Fields 4 (ppid), 20
// (num_threads) and 22 (starttime) are needed; a line that ends before
// num_threads is malformed, one that ends before starttime (never seen
// from a kernel) leaves StartTime 0.
func parseStat(data []byte) (statCore, error) {
	var c statCore
	data = trimSpace(data)
	open := bytes.IndexByte(data, '(')
	close := bytes.LastIndexByte(data, ')')
	if open < 1 || close < open {
		return c, malformed("no command name in parentheses")
	}
	pid, ok := parseUint64(trimSpace(data[:open]))
	if !ok || pid == 0 || pid > math.MaxInt32 {
		return c, malformed("pid %q", trimSpace(data[:open]))
	}
	c.pid, c.commStart, c.commEnd = int(pid), open+1, close
	rest := data[close+1:]
	// Field 3 is the state; fields are numbered from 1 (pid).
	for field := 3; field <= 22; field++ {
		var f []byte
		f, rest = nextField(rest)
		if len(f) == 0 {
			if field <= 20 {
				return c, malformed("field %d missing", field)
			}
			break
		}
		switch field {
		case 3:
			if len(f) != 1 || f[0] < 'A' || f[0] > 'z' {
				return c, malformed("state %q", f)
			}
			c.state = f[0]
		case 4:
			n, ok := parseUint64(f)
			if !ok || n > math.MaxInt32 {
				return c, malformed("ppid %q", f)
			}
			c.ppid = int(n)
		case 20:
			n, ok := parseUint64(f)
			if !ok || n > math.MaxInt32 {
				return c, malformed("num_threads %q", f)
			}
			c.threads = int(n)
		case 22:
			n, ok := parseUint64(f)
			if !ok {
				return c, malformed("starttime %q", f)
			}
			c.start = n
		}
	}
	return c, nil
}
