package procfs

import "math"

// Children: /proc/<pid>/task/<tid>/children lists the PIDs of the children
// of one thread, separated by spaces (proc(5); the kernel needs
// CONFIG_PROC_CHILDREN, which Debian, Ubuntu, Fedora and the cloud kernels
// have). A process's children are the union over its threads: a child's
// parent is the thread that forked it, and orphans adopted by PID 1 or a
// subreaper go to one of its threads.
//
//	4211 4212 4230

// parseChildren appends the PIDs of a children file to dst. The Scanner
// reads children files through childParser, in pieces; the command checks
// a captured one with this (through internal/proctable).
func parseChildren(data []byte, dst []int) ([]int, error) {
	var p childParser
	for _, c := range data {
		if !p.feed(c, func(pid int) { dst = append(dst, pid) }) {
			return dst, malformed("children: byte %q", c)
		}
	}
	if !p.end(func(pid int) { dst = append(dst, pid) }) {
		return dst, malformed("children: PID too large")
	}
	return dst, nil
}

// childParser parses a children file fed byte by byte, so that a file
// read in pieces into a fixed buffer parses the same as a whole one.
type childParser struct {
	n      uint64
	digits int
}

// feed takes one byte, calling emit for each PID it ends; false means the
// byte cannot be in a children file.
func (p *childParser) feed(c byte, emit func(int)) bool {
	switch {
	case c >= '0' && c <= '9':
		p.n = p.n*10 + uint64(c-'0')
		p.digits++
		return p.digits <= 10
	case isSpace(c):
		return p.end(emit)
	}
	return false
}

func (p *childParser) end(emit func(int)) bool {
	if p.digits == 0 {
		return true
	}
	n := p.n
	p.n, p.digits = 0, 0
	// PIDs are at most 2^22 (PID_MAX_LIMIT); above MaxInt32 one would
	// wrap negative in a 32-bit int.
	if n == 0 || n > math.MaxInt32 {
		return false
	}
	emit(int(n))
	return true
}
