package rpsexp

import (
	"reflect"
	"testing"
)

func TestParseSetting(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Setting
	}{
		{"2", Setting{Label: "2", Variant: "none", Env: []string{"GOMAXPROCS=2"}, Fixed: 2}},
		{"default", Setting{Label: "default", Variant: "none"}},
		{"rightsize", Setting{Label: "rightsize", Variant: "rightsize"}},
		{"automaxprocs", Setting{Label: "automaxprocs", Variant: "automaxprocs"}},
		{"rightsize/floor", Setting{Label: "rightsize/floor", Variant: "rightsize", Env: []string{"RIGHTSIZE_CPU_POLICY=floor"}}},
		{"rightsize/ceil/min2", Setting{Label: "rightsize/ceil/min2", Variant: "rightsize", Env: []string{"RIGHTSIZE_CPU_POLICY=ceil", "RIGHTSIZE_MIN_PROCS=2"}}},
	} {
		got, err := ParseSetting(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseSetting(%q) = %+v, %v", c.in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "auto", "rightsize/round", "rightsize/ceil/2", "rightsize/ceil/min0", "rightsize/ceil/min1/x"} {
		if _, err := ParseSetting(bad); err == nil {
			t.Errorf("ParseSetting(%q): no error", bad)
		}
	}
	s, err := ParseSettings("1, 2,1,,default")
	if err != nil || len(s) != 3 {
		t.Errorf("ParseSettings: %v %v", s, err)
	}
	if _, err := ParseQuotas("1,0"); err == nil {
		t.Error("quota 0 accepted")
	}
	if q, err := ParseQuotas("0.5, 1.5"); err != nil || !reflect.DeepEqual(q, []float64{0.5, 1.5}) {
		t.Errorf("ParseQuotas: %v %v", q, err)
	}
}

func TestPolicies(t *testing.T) {
	// GOMAXPROCS per policy on a 2-CPU and a 24-CPU host.
	want := map[string][][2]int{ // per quota 0.5, 1, 1.5, 2, 3: {2 CPUs, 24 CPUs}
		"floor, min 1 (automaxprocs)":    {{1, 1}, {1, 1}, {1, 1}, {2, 2}, {2, 3}},
		"ceil, min 1":                    {{1, 1}, {1, 1}, {2, 2}, {2, 2}, {2, 3}},
		"ceil, min 2 (Go runtime 1.25+)": {{2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 3}},
		"floor, min 2":                   {{2, 2}, {2, 2}, {2, 2}, {2, 2}, {2, 3}},
	}
	for _, p := range Policies {
		for i, q := range []float64{0.5, 1, 1.5, 2, 3} {
			if got := [2]int{p.Procs(q, 2), p.Procs(q, 24)}; got != want[p.Name][i] {
				t.Errorf("%s at %v: %v, want %v", p.Name, q, got, want[p.Name][i])
			}
		}
	}
	if controlCPUs(0.5, 2) != 1 || controlCPUs(1.5, 2) != 2 || controlCPUs(4, 2) != 2 {
		t.Error("controlCPUs")
	}
}
