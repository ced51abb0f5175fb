package runtimeinfo

import (
	"math"
	"testing"
)

func TestProcs(t *testing.T) {
	aware := RuntimeMode{ContainerAware: true, Updates: true}
	q := func(quota, period int64) CPUQuota { return CPUQuota{quota, period} }
	tests := []struct {
		name   string
		policy CPUPolicy
		min    int
		in     ProcsInput
		want   int
	}{
		{"ceil 1.5", PolicyCeil, 1, ProcsInput{Limit: q(150000, 100000), HasLimit: true, CPUs: 8}, 2},
		{"floor 1.5", PolicyFloor, 1, ProcsInput{Limit: q(150000, 100000), HasLimit: true, CPUs: 8}, 1},
		{"ceil 1", PolicyCeil, 1, ProcsInput{Limit: q(100000, 100000), HasLimit: true, CPUs: 8}, 1},
		{"floor 1", PolicyFloor, 1, ProcsInput{Limit: q(100000, 100000), HasLimit: true, CPUs: 8}, 1},
		{"floor 0.5 min 1", PolicyFloor, 1, ProcsInput{Limit: q(50000, 100000), HasLimit: true, CPUs: 8}, 1},
		{"ceil 0.1", PolicyCeil, 1, ProcsInput{Limit: q(10000, 100000), HasLimit: true, CPUs: 8}, 1},
		{"ceil 2.0001", PolicyCeil, 1, ProcsInput{Limit: q(200010, 100000), HasLimit: true, CPUs: 8}, 3},
		{"ceil capped", PolicyCeil, 1, ProcsInput{Limit: q(1000000, 100000), HasLimit: true, CPUs: 4}, 4},
		{"min raises", PolicyFloor, 3, ProcsInput{Limit: q(150000, 100000), HasLimit: true, CPUs: 8}, 3},
		{"min capped by cpus", PolicyCeil, 6, ProcsInput{Limit: q(150000, 100000), HasLimit: true, CPUs: 4}, 4},
		{"no limit", PolicyCeil, 1, ProcsInput{CPUs: 6}, 6},
		{"env millis 1500", PolicyCeil, 1, ProcsInput{Limit: q(1500, 1000), HasLimit: true, CPUs: 8}, 2},
		{"runtime old go", PolicyRuntime, 1, ProcsInput{Limit: q(150000, 100000), HasLimit: true, Leaf: q(150000, 100000), HasLeaf: true, CPUs: 8}, 8},
		{"runtime aware 1.5", PolicyRuntime, 1, ProcsInput{Limit: q(150000, 100000), HasLimit: true, Leaf: q(150000, 100000), HasLeaf: true, CPUs: 8, Mode: aware}, 2},
		{"runtime aware 1 gives 2", PolicyRuntime, 1, ProcsInput{Limit: q(100000, 100000), HasLimit: true, Leaf: q(100000, 100000), HasLeaf: true, CPUs: 8, Mode: aware}, 2},
		{"runtime aware leaf only", PolicyRuntime, 1, ProcsInput{Limit: q(100000, 100000), HasLimit: true, CPUs: 8, Mode: aware}, 8},
		{"runtime aware 3.2", PolicyRuntime, 1, ProcsInput{Leaf: q(320000, 100000), HasLeaf: true, CPUs: 8, Mode: aware}, 4},
		{"runtime aware 1 cpu", PolicyRuntime, 1, ProcsInput{Leaf: q(50000, 100000), HasLeaf: true, CPUs: 1, Mode: aware}, 1},
		{"zero cpus treated as 1", PolicyCeil, 1, ProcsInput{Limit: q(300000, 100000), HasLimit: true}, 1},
	}
	for _, tt := range tests {
		if got := Procs(tt.policy, tt.min, tt.in); got != tt.want {
			t.Errorf("%s: Procs = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		limit   int64
		ratio   float64
		reserve int64
		want    int64
	}{
		{256 << 20, 0.9, 0, 241591910},
		{1 << 30, 0.5, 0, 1 << 29},
		{1 << 30, 0.9, 100 << 20, 1<<30 - 100<<20},
		{100 << 20, 0.9, 200 << 20, 94371840}, // reserve not below the limit: ratio
		{0, 0.9, 0, 0},
		{1 << 30, 0, 0, 966367641}, // invalid ratio: default
		{math.MaxInt64, 1, 0, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := MemoryLimit(tt.limit, tt.ratio, tt.reserve); got != tt.want {
			t.Errorf("MemoryLimit(%d, %g, %d) = %d, want %d", tt.limit, tt.ratio, tt.reserve, got, tt.want)
		}
	}
}

func TestDetectMode(t *testing.T) {
	tests := []struct {
		version, def, env string
		aware, updates    bool
	}{
		{"go1.24.11", "", "", false, false},
		{"go1.22.12", "", "containermaxprocs=1", false, false},
		{"go1.25.0", "", "", true, true},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0,x509sha1=1", "", false, false},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0", "containermaxprocs=1", true, false},
		{"go1.26.8", "containermaxprocs=0,updatemaxprocs=0", "containermaxprocs=1,updatemaxprocs=1", true, true},
		{"go1.26.8", "", "updatemaxprocs=0", true, false},
		{"go1.26.8", "", "containermaxprocs=0", false, false},
		{"go1.26.8", "", "containermaxprocs=0,containermaxprocs=1", true, true},
		{"devel go1.27-abcdef Mon Jan 1", "", "", true, true},
		{"weird", "", "", true, true},
	}
	for _, tt := range tests {
		m := detectMode(tt.version, tt.def, tt.env)
		if m.ContainerAware != tt.aware || m.Updates != tt.updates {
			t.Errorf("detectMode(%q, %q, %q) = %+v, want aware %v updates %v", tt.version, tt.def, tt.env, m, tt.aware, tt.updates)
		}
		if m.Reason == "" {
			t.Errorf("detectMode(%q): empty reason", tt.version)
		}
	}
}

func TestValidEnv(t *testing.T) {
	for v, want := range map[string]bool{"4": true, "0": false, "-1": false, "x": false, "": false, "99999999999": false} {
		if got := validGOMAXPROCS(v); got != want {
			t.Errorf("validGOMAXPROCS(%q) = %v", v, got)
		}
	}
	for v, want := range map[string]bool{"off": true, "1GiB": true, "123": true, "5MiB": true, "10B": true, "1.5GiB": false, "GiB": false, "1GB": false} {
		if got := validGOMEMLIMIT(v); got != want {
			t.Errorf("validGOMEMLIMIT(%q) = %v", v, got)
		}
	}
}
