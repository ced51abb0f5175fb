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
