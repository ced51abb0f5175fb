package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkFloorPread-2                	 2000	       500 ns/op	       0 B/op	       0 allocs/op
BenchmarkFloorPread-2                	 2000	       400 ns/op	       0 B/op	       0 allocs/op
BenchmarkFloorPread-2                	 2000	       450 ns/op	       0 B/op	       0 allocs/op
BenchmarkRightsizeHotMemoryUsage-2   	 2000	       600 ns/op	       0 B/op	       0 allocs/op
BenchmarkRightsizeReadStats-2        	 2000	     20000 ns/op	       0 B/op	       0 allocs/op
BenchmarkRightsizeReadStatsCore-2    	 2000	     20000 ns/op	       0 B/op	       0 allocs/op
BenchmarkContainerdStat-2            	 2000	    420000 ns/op	   56293 B/op	     378 allocs/op
BenchmarkRightsizeColdDiscovery-2    	 2000	    100000 ns/op	   25765 B/op	       7 allocs/op
BenchmarkPeersTogether-2             	 2000	   1100000 ns/op	   80168 B/op	     535 allocs/op
BenchmarkFloorPreadStatsFiles-2   	    2000	     41001 ns/op	        10.00 files	       0 B/op	       0 allocs/op
PASS
`

func TestRender(t *testing.T) {
	m, order, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 8 || len(m["FloorPread"].ns) != 3 {
		t.Fatalf("parsed %v", order)
	}
	if got := m["FloorPreadStatsFiles"]; len(got.ns) != 1 || got.allocs[0] != 0 {
		t.Fatalf("custom metric line: %+v", got)
	}
	out := Render(m, order)
	for _, want := range []string{
		"| `FloorPread`", " 450 |", " 1.33 |", " 0.49 |",
		"hot read ≤ 1.5× floor with 0 allocs: 1.33×, 0 allocs — met",
		"full refresh (StatsCore) 0 allocs and ≥ 30× faster than containerd's Stat: 0 allocs, 21.0× — **not met**",
		"everything (ReadStats, 11 files here): 0 allocs, 21.0× faster",
		"together: 11.0× — met",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

// TestPaired: the ratio is taken within each run, not between medians.
func TestPaired(t *testing.T) {
	in := `BenchmarkFloorStartFiles-2 100 100 ns/op
BenchmarkRightsizeStart-2 100 120 ns/op
BenchmarkFloorStartFiles-2 100 200 ns/op
BenchmarkRightsizeStart-2 100 260 ns/op
BenchmarkFloorStartFiles-2 100 300 ns/op
BenchmarkRightsizeStart-2 100 330 ns/op
`
	m, order, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// Ratios 1.2, 1.3, 1.1: median 1.2, range 1.1–1.3 (the medians' ratio
	// would be 260/200 = 1.3).
	if out := Render(m, order); !strings.Contains(out, "the blank import's init / its floor (target ≤ 1.3): 1.20× (1.10–1.30)") {
		t.Errorf("paired ratio missing:\n%s", out)
	}
	// Unequal counts: no paired ratio.
	m["RightsizeStart"].ns = m["RightsizeStart"].ns[:2]
	if out := Render(m, order); strings.Contains(out, "Paired") {
		t.Errorf("paired ratios from unequal runs:\n%s", out)
	}
}
