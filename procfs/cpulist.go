package procfs

import "errors"

// maxCPUID bounds CPU numbers in a list; the kernel's NR_CPUS limit is 8192
// on common configurations, so anything far beyond it is not a CPU list.
const maxCPUID = 1 << 16

// ParseCPUList counts the CPUs in a kernel CPU list such as "0-3,8,10-11"
// (the "list format" of cpuset(7), used by Cpus_allowed_list and
// cpuset.cpus.effective). Surrounding white space is ignored; an empty list
// counts 0 CPUs (an empty cpuset.cpus means "inherit" and is the caller's to
// interpret). Overlapping ranges are counted once. It does not allocate.
func ParseCPUList(b []byte) (int, error) {
	b = trimSpace(b)
	if len(b) == 0 {
		return 0, nil
	}
	// A bitmap of up to maxCPUID CPUs would be 8 KiB; count ranges instead
	// and detect overlap by requiring ascending order, which the kernel
	// always writes. Out-of-order input is still counted exactly by a
	// slower merge below.
	count := 0
	last := -1
	sorted := true
	var ranges [64][2]int
	nr := 0
	for len(b) > 0 {
		var item []byte
		item, b = cutByte(b, ',')
		if len(item) == 0 {
			return 0, errors.New("empty element in CPU list")
		}
		lo, hi, err := parseRange(item)
		if err != nil {
			return 0, err
		}
		if lo <= last {
			sorted = false
		}
		if nr < len(ranges) {
			ranges[nr] = [2]int{lo, hi}
		}
		nr++
		last = hi
		count += hi - lo + 1
	}
	if sorted {
		return count, nil
	}
	if nr > len(ranges) {
		return 0, errors.New("CPU list out of order with too many elements")
	}
	// Count each CPU once: sort the ranges by their start (insertion sort:
	// at most 64, in place) and add up their union in one sweep, so that
	// even 64 overlapping ranges of 65,536 CPUs cost a few thousand steps.
	rs := ranges[:nr]
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j][0] < rs[j-1][0]; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
	count = 0
	end := -1 // the last CPU counted so far
	for _, r := range rs {
		lo, hi := r[0], r[1]
		if lo <= end {
			lo = end + 1
		}
		if hi >= lo {
			count += hi - lo + 1
			end = hi
		}
	}
	return count, nil
}

func parseRange(item []byte) (lo, hi int, err error) {
	a, rest := cutByte(item, '-')
	lo, err = parseCPUID(a)
	if err != nil {
		return 0, 0, err
	}
	hi = lo
	if rest != nil {
		hi, err = parseCPUID(rest)
		if err != nil {
			return 0, 0, err
		}
		if hi < lo {
			return 0, 0, errors.New("CPU range runs backwards")
		}
	}
	return lo, hi, nil
}

func parseCPUID(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("missing CPU number")
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errors.New("CPU number is not a decimal")
		}
		n = n*10 + int(c-'0')
		if n > maxCPUID {
			return 0, errors.New("CPU number out of range")
		}
	}
	return n, nil
}

// cutByte splits b at the first sep; rest is nil when sep is absent.
func cutByte(b []byte, sep byte) (before, rest []byte) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
