package cgroup

import (
	"bytes"
	"fmt"
	"math"
)

// Pure parsers for cgroupfs file formats (Documentation/admin-guide/
// cgroup-v2.rst "Interface Files", and cgroup-v1/*.rst). They take the
// file's bytes, allocate nothing on success, and return errors wrapping
// ErrMalformed; the readers add the path.

// trim drops surrounding white space (files end with a newline).
func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseUint parses a decimal without sign.
func parseUint(b []byte) (uint64, bool) {
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

// parseInt parses a decimal with an optional minus sign into an int64.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	u, ok := parseUint(b)
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

func errMalformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// parseSingleInt parses a file holding one integer (cpu.cfs_quota_us,
// memory.limit_in_bytes, pids.current, ...).
func parseSingleInt(data []byte) (int64, error) {
	v, ok := parseInt(trim(data))
	if !ok {
		return 0, errMalformed("want one integer, got %q", trim(data))
	}
	return v, nil
}

// parseMaxOrInt parses a v2 "max"-or-number file (memory.max, memory.high,
// memory.swap.max, pids.max; also v1 pids.max). limited is false for "max".
func parseMaxOrInt(data []byte) (v int64, limited bool, err error) {
	t := trim(data)
	if string(t) == "max" {
		return 0, false, nil
	}
	n, ok := parseInt(t)
	if !ok || n < 0 {
		return 0, false, errMalformed("want \"max\" or a non-negative integer, got %q", t)
	}
	return n, true, nil
}

// defaultCFSPeriod is the kernel's default period, used when cpu.max holds
// a single field.
const defaultCFSPeriod = 100000

// parseCPUMax parses v2 cpu.max: "$MAX $PERIOD", where $MAX is "max" or a
// quota in microseconds. A single field ("max" or a quota) is tolerated with
// the default period. A third field, a zero or negative period, or a quota
// that is neither "max" nor a positive number is an error.
func parseCPUMax(data []byte) (quota, period int64, limited bool, err error) {
	t := trim(data)
	q, rest, _ := bytes.Cut(t, []byte(" "))
	period = defaultCFSPeriod
	if len(rest) > 0 {
		if bytes.IndexByte(rest, ' ') >= 0 {
			return 0, 0, false, errMalformed("cpu.max has more than two fields: %q", t)
		}
		p, ok := parseInt(rest)
		if !ok || p <= 0 {
			return 0, 0, false, errMalformed("cpu.max period %q is not a positive integer", rest)
		}
		period = p
	}
	if string(q) == "max" {
		return 0, period, false, nil
	}
	qv, ok := parseInt(q)
	if !ok || qv <= 0 {
		return 0, 0, false, errMalformed("cpu.max quota %q is neither \"max\" nor a positive integer", q)
	}
	return qv, period, true, nil
}

// flatKeyed iterates a "flat keyed" file (cpu.stat, memory.stat,
// memory.events, memory.oom_control): one "key value" pair per line.
// fn is called for each well-formed pair; lines that do not split are
// reported as malformed.
func flatKeyed(data []byte, fn func(key []byte, val uint64)) error {
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return errMalformed("line %q is not \"key value\"", line)
		}
		n, ok := parseUint(trim(v))
		if !ok {
			// Negative values occur in v1 memory.stat on some kernels
			// (per-cpu drift); treat them as zero rather than failing the
			// whole file.
			if x, okNeg := parseInt(trim(v)); okNeg && x < 0 {
				n = 0
			} else {
				return errMalformed("value of %q is not a number: %q", k, v)
			}
		}
		fn(k, n)
	}
	return nil
}

// v1Unlimited reports whether a v1 memory value is the "no limit" sentinel:
// LONG_MAX rounded down to the page size (9223372036854771712 with 4 KiB
// pages, 9223372036854710272 with 64 KiB pages). Any value within the
// largest page size of LONG_MAX is treated as the sentinel.
func v1Unlimited(v int64) bool {
	const maxPage = 1 << 16
	return v >= math.MaxInt64&^(maxPage-1)
}

// PSI is one resource's pressure file (Documentation/accounting/psi.rst):
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
type PSI struct {
	Some PSILine `json:"some"`
	// Full is absent (HasFull false) in cpu.pressure before Linux 5.13.
	Full    PSILine `json:"full"`
	HasFull bool    `json:"hasFull"`
}

// PSILine holds the averages (percent of wall time over 10 s, 60 s, 300 s)
// and the total stall time in microseconds.
type PSILine struct {
	Avg10       float64 `json:"avg10"`
	Avg60       float64 `json:"avg60"`
	Avg300      float64 `json:"avg300"`
	TotalMicros uint64  `json:"totalMicros"`
}

func parsePSI(data []byte, p *PSI) error {
	*p = PSI{}
	haveSome := false
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		if len(line) == 0 {
			continue
		}
		kind, rest, _ := bytes.Cut(line, []byte(" "))
		var dst *PSILine
		switch string(kind) {
		case "some":
			dst, haveSome = &p.Some, true
		case "full":
			dst, p.HasFull = &p.Full, true
		default:
			return errMalformed("pressure line %q is neither some nor full", line)
		}
		if err := parsePSILine(rest, dst); err != nil {
			return err
		}
	}
	if !haveSome {
		return errMalformed("no \"some\" line in pressure file")
	}
	return nil
}

func parsePSILine(b []byte, l *PSILine) error {
	seen := 0
	for len(b) > 0 {
		var f []byte
		f, b, _ = bytes.Cut(b, []byte(" "))
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok {
			return errMalformed("pressure field %q is not key=value", f)
		}
		switch string(k) {
		case "avg10", "avg60", "avg300":
			x, ok := parseDecimal(v)
			if !ok {
				return errMalformed("pressure %s=%q is not a decimal", k, v)
			}
			switch string(k) {
			case "avg10":
				l.Avg10 = x
			case "avg60":
				l.Avg60 = x
			default:
				l.Avg300 = x
			}
			seen++
		case "total":
			x, ok := parseUint(v)
			if !ok {
				return errMalformed("pressure total=%q is not an integer", v)
			}
			l.TotalMicros = x
			seen++
		}
	}
	if seen != 4 {
		return errMalformed("pressure line lacks avg10, avg60, avg300 or total")
	}
	return nil
}

// parseDecimal parses the kernel's fixed-point "12.34" without allocating.
func parseDecimal(b []byte) (float64, bool) {
	ip, fp, dot := bytes.Cut(b, []byte("."))
	i, ok := parseUint(ip)
	if !ok {
		return 0, false
	}
	x := float64(i)
	if dot {
		f, ok := parseUint(fp)
		if !ok || len(fp) > 6 {
			return 0, false
		}
		x += float64(f) / math.Pow10(len(fp))
	}
	return x, true
}
