// Package kernfmt parses the numbers of kernel text files (procfs,
// cgroupfs) from their bytes, without allocating: the unsigned 64-bit
// parser that package procfs and package cgroup both need, once. (Parsers
// with a narrower range of their own, such as CPU numbers and mountinfo
// IDs, keep their bounded loops.)
package kernfmt

import "math"

// ParseUint parses an unsigned decimal, as the kernel prints a u64 with
// "%llu": digits only, no sign, no white space. It reports false for an
// empty field, any other byte, or a value above 2^64-1.
func ParseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
