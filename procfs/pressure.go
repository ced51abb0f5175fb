package procfs

import (
	"bytes"
	"math"
	"time"

	"github.com/rightsize/rightsize/internal/kernfmt"
)

// PSI is one resource's pressure stall information, the format of
// /proc/pressure/{cpu,memory,io} and of a v2 cgroup's *.pressure files
// (Documentation/accounting/psi.rst):
//
//	some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//	full avg10=0.00 avg60=0.00 avg300=0.00 total=0
type PSI struct {
	Some PSILine
	// Full is absent (HasFull false) in cpu.pressure before Linux 5.13.
	Full    PSILine
	HasFull bool
}

// PSILine holds the share of wall time in which some (or all) tasks
// stalled, in percent, averaged over 10 s, 60 s and 300 s, and the total
// stall time.
type PSILine struct {
	Avg10, Avg60, Avg300 float64
	Total                time.Duration
}

// ParsePSI parses a pressure file into p without allocating. A "some" line
// is required; "full" is optional.
func ParsePSI(data []byte, p *PSI) error {
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
			return malformed("pressure line %q is neither some nor full", line)
		}
		if err := parsePSILine(rest, dst); err != nil {
			return err
		}
	}
	if !haveSome {
		return malformed("no \"some\" line in pressure file")
	}
	return nil
}

func parsePSILine(b []byte, l *PSILine) error {
	const avg10, avg60, avg300, total = 1, 2, 4, 8
	seen := 0 // a bit per key: each must appear (a repeat does not count twice)
	for len(b) > 0 {
		var f []byte
		f, b, _ = bytes.Cut(b, []byte(" "))
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok {
			return malformed("pressure field %q is not key=value", f)
		}
		switch string(k) {
		case "avg10", "avg60", "avg300":
			x, ok := parseDecimal(v)
			if !ok || x > 100 {
				return malformed("pressure %s=%q is not a percentage", k, v)
			}
			switch string(k) {
			case "avg10":
				l.Avg10, seen = x, seen|avg10
			case "avg60":
				l.Avg60, seen = x, seen|avg60
			default:
				l.Avg300, seen = x, seen|avg300
			}
		case "total":
			x, ok := parseUint64(v)
			if !ok || x > math.MaxInt64/uint64(time.Microsecond) {
				return malformed("pressure total=%q is not a count of microseconds", v)
			}
			l.Total = time.Duration(x) * time.Microsecond
			seen |= total
		}
	}
	if seen != avg10|avg60|avg300|total {
		return malformed("pressure line lacks avg10, avg60, avg300 or total")
	}
	return nil
}

// parseUint64 parses an unsigned decimal without allocating
// (kernfmt.ParseUint: one copy for procfs and cgroup).
func parseUint64(b []byte) (uint64, bool) { return kernfmt.ParseUint(b) }

// parseDecimal parses the kernel's fixed-point "12.34" without allocating.
func parseDecimal(b []byte) (float64, bool) {
	ip, fp, dot := bytes.Cut(b, []byte("."))
	i, ok := parseUint64(ip)
	if !ok {
		return 0, false
	}
	x := float64(i)
	if dot {
		f, ok := parseUint64(fp)
		if !ok || len(fp) > 6 {
			return 0, false
		}
		x += float64(f) / math.Pow10(len(fp))
	}
	return x, true
}

// Pressure reads <root>/proc/pressure/<resource> ("cpu", "memory" or
// "io"): the host's pressure, all tasks of the machine. It is absent
// (fs.ErrNotExist) on kernels without PSI or with psi=0.
func (fs FS) Pressure(resource string) (PSI, error) {
	var p PSI
	data, n, err := fs.read(4096, "pressure", resource)
	if err != nil {
		return p, err
	}
	return p, fs.box(n, ParsePSI(data, &p))
}
