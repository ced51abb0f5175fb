// Command benchtable turns `go test -bench` output (any -count) into the
// markdown table of bench/README.md: the median ns/op, B/op and allocs/op
// of each benchmark, its ratio to the floor (BenchmarkFloorPread), and the
// issue's targets checked.
//
//	go test -run XXX -bench . -count 6 ./readers/ | tee results/readers.txt
//	go run ./benchtable < results/readers.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/bench/internal/report"
)

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

type samples struct{ ns, bytes, allocs []float64 }

// Parse reads benchmark lines; names keep their order of first appearance.
func Parse(r io.Reader) (map[string]*samples, []string, error) {
	m := map[string]*samples{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		g := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if g == nil {
			continue
		}
		name := strings.TrimPrefix(g[1], "Benchmark")
		s := m[name]
		if s == nil {
			s = &samples{}
			m[name] = s
			order = append(order, name)
		}
		f := strings.Fields(g[3])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	return m, order, sc.Err()
}

var what = map[string]string{
	"FloorPread":              "floor: one pread of memory usage on an open fd",
	"FloorPreadStatsFiles":    "floor for a refresh: one pread of each file ReadStats reads",
	"FloorColdFiles":          "floor for discovery: open+read+close of /proc/self/{cgroup,mountinfo} and the limit files",
	"RightsizeHotMemoryUsage": "rightsize: memory usage, warm handle",
	"RightsizeHotCPULimit":    "rightsize: CPU limit (hierarchy walk), warm handle",
	"RightsizeHotMemoryLimit": "rightsize: memory limit (hierarchy walk), warm handle",
	"RightsizeReadStats":      "rightsize: everything Stats holds (ReadStats: adds peak, events, pressure)",
	"RightsizeReadStatsCore":  "rightsize: full refresh as the issue defines it (ReadStatsOf StatsCore: CPU usage+throttling, memory usage+working set, pids)",
	"RightsizeColdDiscovery":  "rightsize: cold discovery (Open, CPULimit, MemoryLimit, Close)",
	"AutomaxprocsSet":         "automaxprocs: maxprocs.Set + undo",
	"AutomemlimitFromCgroup":  "automemlimit: memlimit.FromCgroup",
	"PeersTogether":           "automaxprocs + automemlimit together",
	"ContainerdLoadStat":      "containerd/cgroups v3: Load + Stat",
	"ContainerdStat":          "containerd/cgroups v3: Stat on a loaded cgroup",
}

// ownFloor is the floor that reads the same files as a benchmark.
var ownFloor = map[string]string{
	"RightsizeHotMemoryUsage": "FloorPread",
	"RightsizeReadStats":      "FloorPreadStatsFiles",
	"RightsizeColdDiscovery":  "FloorColdFiles",
}

func med(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return report.Median(xs)
}

func main() {
	m, order, err := Parse(os.Stdin)
	if err != nil || len(order) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark lines on stdin", err)
		os.Exit(1)
	}
	fmt.Print(Render(m, sortOrder(order)))
}

// preferred is the order of the README's table; others follow as found.
var preferred = []string{"FloorPread", "RightsizeHotMemoryUsage", "RightsizeHotCPULimit", "RightsizeHotMemoryLimit",
	"FloorPreadStatsFiles", "RightsizeReadStatsCore", "RightsizeReadStats", "ContainerdStat",
	"FloorColdFiles", "RightsizeColdDiscovery", "AutomaxprocsSet", "AutomemlimitFromCgroup", "PeersTogether", "ContainerdLoadStat"}

func sortOrder(found []string) []string {
	seen := map[string]bool{}
	for _, n := range found {
		seen[n] = true
	}
	var out []string
	for _, n := range preferred {
		if seen[n] {
			out = append(out, n)
			delete(seen, n)
		}
	}
	for _, n := range found {
		if seen[n] {
			out = append(out, n)
		}
	}
	return out
}

// Render is the table plus the target checks.
func Render(m map[string]*samples, order []string) string {
	floor := med(m["FloorPread"].nsOrNil())
	t := report.Table{
		Header: []string{"benchmark", "what", "ns/op", "B/op", "allocs/op", "× floor", "× its own floor", "runs"},
		Align:  []report.Align{report.Left, report.Left, report.Right, report.Right, report.Right, report.Right, report.Right, report.Right},
	}
	for _, n := range order {
		s := m[n]
		ns := med(s.ns)
		ratio := "–"
		if floor > 0 {
			ratio = fmt.Sprintf("%.1f", ns/floor)
			if ns/floor < 10 {
				ratio = fmt.Sprintf("%.2f", ns/floor)
			}
		}
		own := "–"
		if f, ok := ownFloor[n]; ok && m[f] != nil && med(m[f].ns) > 0 {
			own = fmt.Sprintf("%.2f", ns/med(m[f].ns))
		}
		t.AddRow("`"+n+"`", what[n], report.FmtInt(ns), report.FmtInt(med(s.bytes)), report.FmtInt(med(s.allocs)), ratio, own, fmt.Sprint(len(s.ns)))
	}
	var b strings.Builder
	b.WriteString(t.Markdown())
	b.WriteString("\nTargets (issue 6):\n\n")
	get := func(n string) (float64, float64, bool) {
		s, ok := m[n]
		if !ok || len(s.ns) == 0 {
			return 0, 0, false
		}
		return med(s.ns), med(s.allocs), true
	}
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	if hot, allocs, ok := get("RightsizeHotMemoryUsage"); ok && floor > 0 {
		fmt.Fprintf(&b, "- hot read ≤ 1.5× floor with 0 allocs: %.2f×, %.0f allocs — %s\n", hot/floor, allocs, check(hot/floor <= 1.5 && allocs == 0))
	}
	if rs, allocs, ok := get("RightsizeReadStatsCore"); ok {
		if cs, _, ok := get("ContainerdStat"); ok {
			fmt.Fprintf(&b, "- full refresh (StatsCore) 0 allocs and ≥ 30× faster than containerd's Stat: %.0f allocs, %.1f× — %s\n", allocs, cs/rs, check(allocs == 0 && cs/rs >= 30))
		}
	}
	if rs, allocs, ok := get("RightsizeReadStats"); ok {
		if cs, _, ok := get("ContainerdStat"); ok {
			fmt.Fprintf(&b, "- everything (ReadStats, 11 files here): %.0f allocs, %.1f× faster than containerd's Stat\n", allocs, cs/rs)
		}
	}
	if cold, _, ok := get("RightsizeColdDiscovery"); ok {
		if peers, _, ok := get("PeersTogether"); ok {
			fmt.Fprintf(&b, "- cold discovery ≥ 10× faster than automaxprocs + automemlimit together: %.1f× — %s\n", peers/cold, check(peers/cold >= 10))
		}
	}
	return b.String()
}

func (s *samples) nsOrNil() []float64 {
	if s == nil {
		return nil
	}
	return s.ns
}
