package cgroup

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/rightsize/rightsize/internal/kernfmt"
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

// parseInt parses a decimal with an optional minus sign into an int64.
func parseInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	u, ok := kernfmt.ParseUint(b)
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
// memory.limit_in_bytes, ...).
func parseSingleInt(data []byte) (int64, error) {
	v, ok := parseInt(trim(data))
	if !ok {
		return 0, errMalformed("want one integer, got %q", trim(data))
	}
	return v, nil
}

// parseSingleUint parses a file holding one unsigned 64-bit number
// (memory.current, memory.usage_in_bytes, pids.current, cpuacct.usage, ...).
func parseSingleUint(data []byte) (uint64, error) {
	v, ok := kernfmt.ParseUint(trim(data))
	if !ok {
		return 0, errMalformed("want one unsigned integer, got %q", trim(data))
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
// memory.events, memory.oom_control): one "key value" pair per line, the
// value a decimal. fn gets the raw value, which counter parses.
// A line that does not split is reported as malformed.
func flatKeyed(data []byte, fn func(key, val []byte) error) error {
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
		if err := fn(k, trim(v)); err != nil {
			return err
		}
	}
	return nil
}

// counter parses an unsigned 64-bit kernel counter. Negative values occur
// in v1 memory.stat on some kernels (per-CPU drift of a statistic that is
// near zero); they read as 0 rather than failing the whole file. Anything
// else that is not a decimal is malformed.
func counter(key, v []byte) (uint64, error) {
	if n, ok := kernfmt.ParseUint(v); ok {
		return n, nil
	}
	if x, ok := parseInt(v); ok && x < 0 {
		return 0, nil
	}
	return 0, errMalformed("value of %q is not an unsigned 64-bit number: %q", key, v)
}

// micros converts a count of microseconds to a Duration; a count beyond
// what a Duration holds (292 years) is malformed, never wrapped.
func micros(key string, v uint64) (time.Duration, error) {
	if v > math.MaxInt64/uint64(time.Microsecond) {
		return 0, errMalformed("%s %d µs is out of range", key, v)
	}
	return time.Duration(v) * time.Microsecond, nil
}

// nanos converts a count of nanoseconds to a Duration; beyond MaxInt64 is
// malformed.
func nanos(key string, v uint64) (time.Duration, error) {
	if v > math.MaxInt64 {
		return 0, errMalformed("%s %d ns is out of range", key, v)
	}
	return time.Duration(v), nil
}

// toInt64 converts an unsigned kernel count (bytes, tasks) to int64;
// beyond MaxInt64 is malformed, never wrapped.
func toInt64(key string, v uint64) (int64, error) {
	if v > math.MaxInt64 {
		return 0, errMalformed("%s %d is out of range", key, v)
	}
	return int64(v), nil
}

// v1Unlimited reports whether a v1 memory value is the "no limit" sentinel:
// LONG_MAX rounded down to the page size (9223372036854771712 with 4 KiB
// pages, 9223372036854710272 with 64 KiB pages). Any value within the
// largest page size of LONG_MAX is treated as the sentinel.
func v1Unlimited(v int64) bool {
	const maxPage = 1 << 16
	return v >= math.MaxInt64&^(maxPage-1)
}
