package rpsexp

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Setting is one way of choosing GOMAXPROCS: a row of the tables.
type Setting struct {
	// Label as given on the command line: "2", "default", "rightsize",
	// "automaxprocs", "rightsize/floor", "rightsize/ceil/min2".
	Label string
	// Variant is the build variant of the service (package variant).
	Variant string
	// Env is added to the service's environment.
	Env []string
	// Fixed is the GOMAXPROCS value for a fixed setting, 0 otherwise.
	Fixed int
}

// ParseSetting parses one -procs entry.
//
//	N                 GOMAXPROCS=N in the environment
//	default           nothing set: the Go runtime's own default
//	automaxprocs      blank import of go.uber.org/automaxprocs
//	rightsize         blank import of rightsize with its default policy
//	rightsize/P       ... with RIGHTSIZE_CPU_POLICY=P (floor, ceil, runtime)
//	rightsize/P/minM  ... and RIGHTSIZE_MIN_PROCS=M
func ParseSetting(s string) (Setting, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return Setting{}, fmt.Errorf("GOMAXPROCS %d: must be at least 1", n)
		}
		return Setting{Label: s, Variant: "none", Env: []string{"GOMAXPROCS=" + s}, Fixed: n}, nil
	}
	switch s {
	case "default":
		return Setting{Label: s, Variant: "none"}, nil
	case "automaxprocs":
		return Setting{Label: s, Variant: "automaxprocs"}, nil
	case "rightsize":
		return Setting{Label: s, Variant: "rightsize"}, nil
	}
	if rest, ok := strings.CutPrefix(s, "rightsize/"); ok {
		parts := strings.Split(rest, "/")
		set := Setting{Label: s, Variant: "rightsize"}
		switch parts[0] {
		case "floor", "ceil", "runtime":
			set.Env = append(set.Env, "RIGHTSIZE_CPU_POLICY="+parts[0])
		default:
			return Setting{}, fmt.Errorf("setting %q: policy must be floor, ceil or runtime", s)
		}
		if len(parts) > 2 {
			return Setting{}, fmt.Errorf("setting %q: want rightsize/POLICY[/minN]", s)
		}
		if len(parts) == 2 {
			m, ok := strings.CutPrefix(parts[1], "min")
			n, err := strconv.Atoi(m)
			if !ok || err != nil || n < 1 {
				return Setting{}, fmt.Errorf("setting %q: want minN with N >= 1", s)
			}
			set.Env = append(set.Env, "RIGHTSIZE_MIN_PROCS="+m)
		}
		return set, nil
	}
	return Setting{}, fmt.Errorf("unknown setting %q (want a number, default, rightsize[/POLICY[/minN]] or automaxprocs)", s)
}

// ParseSettings parses a comma-separated list.
func ParseSettings(list string) ([]Setting, error) {
	var out []Setting
	seen := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		s, err := ParseSetting(f)
		if err != nil {
			return nil, err
		}
		if seen[s.Label] {
			continue
		}
		seen[s.Label] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no settings in %q", list)
	}
	return out, nil
}

// ParseQuotas parses "0.5,1,1.5".
func ParseQuotas(list string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		q, err := strconv.ParseFloat(f, 64)
		if err != nil || q <= 0 || q > 1024 || math.IsNaN(q) {
			return nil, fmt.Errorf("bad quota %q: want CPUs > 0", f)
		}
		out = append(out, q)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no quotas in %q", list)
	}
	return out, nil
}

// Policy is a rule that turns a CPU limit into GOMAXPROCS.
type Policy struct {
	Name  string
	Round func(float64) float64
	Min   int
}

// Policies are the candidates for rightsize's default.
var Policies = []Policy{
	{"floor, min 1 (automaxprocs)", math.Floor, 1},
	{"ceil, min 1", math.Ceil, 1},
	{"ceil, min 2 (Go runtime 1.25+)", math.Ceil, 2},
	{"floor, min 2", math.Floor, 2},
}

// Procs applies p to a quota on a host with cpus CPUs: round, raise to
// the minimum, cap at the CPUs.
func (p Policy) Procs(quota float64, cpus int) int {
	n := int(p.Round(quota))
	if n < p.Min {
		n = p.Min
	}
	if n > cpus {
		n = cpus
	}
	if n < 1 {
		n = 1
	}
	return n
}

// FormatQuota prints a quota without trailing zeros.
func FormatQuota(q float64) string { return strconv.FormatFloat(q, 'f', -1, 64) }
