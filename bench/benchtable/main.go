// Command benchtable turns `go test -bench` output (any -count) into the
// markdown table of bench/README.md: the median ns/op, B/op and allocs/op
// of each benchmark, its ratio to the floor (BenchmarkFloorPread), and the
// issue's targets checked. For each pair of benchmarks that ran the same
// number of times (twice or more), it also gives the paired ratio: the ratio within each run (the
// i-th sample of one benchmark against the i-th of its floor), median and
// range. They compare side by side when the input is repeated -count 1
// runs, each of which runs every benchmark once:
//
//	go test -c -o readers.test ./readers/
//	for i in $(seq 10); do ./readers.test -test.run XXX -test.bench . -test.count 1 -test.benchmem; done | tee results/readers.txt
//	go run ./benchtable < results/readers.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
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
	"FloorPreadMemory":        "floor for a hot memory read: one pread of memory usage and of memory.stat on open descriptors",
	"FloorPreadStatsFiles":    "floor for a refresh: one pread of each file ReadStats reads",
	"FloorColdFiles":          "open+read+close of /proc/self/{cgroup,mountinfo} and the leaf's limit files only (what a leaf-only reader needs)",
	"FloorColdDiscoveryFiles": "floor for cold discovery: open+read+close of every file Open, CPULimit and MemoryLimit read (traced), the walk up the hierarchy included",
	"FloorReadFiles":          "floor for runtimeinfo.Read: open+read+close of every file it reads (traced)",
	"FloorStartFiles":         "floor for the blank import's init: open+read+close of every file runtimeinfo.Start reads (traced)",
	"FloorPreadRefreshFiles":  "floor for a Reader refresh: one pread of each file it reads, on open descriptors",
	"RightsizeRead":           "rightsize: runtimeinfo.Read (open, read every value, close)",
	"RightsizeStart":          "rightsize: the blank import's init (runtimeinfo.Start with the environment; its watcher stopped at once)",
	"RightsizeReaderRefresh":  "rightsize: a warm Reader's refresh (what each watcher tick reads)",
	"RightsizeHotMemoryUsage": "rightsize: memory usage and working set (ReadStats StatsMemory), warm handle",
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
	"RightsizeHotMemoryUsage": "FloorPreadMemory",
	"RightsizeReadStats":      "FloorPreadStatsFiles",
	"RightsizeColdDiscovery":  "FloorColdDiscoveryFiles",
	"RightsizeRead":           "FloorReadFiles",
	"RightsizeStart":          "FloorStartFiles",
	"RightsizeReaderRefresh":  "FloorPreadRefreshFiles",
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
var preferred = []string{"FloorPread", "FloorPreadMemory", "RightsizeHotMemoryUsage", "RightsizeHotCPULimit", "RightsizeHotMemoryLimit",
	"FloorStartFiles", "RightsizeStart", "FloorReadFiles", "RightsizeRead",
	"FloorPreadRefreshFiles", "RightsizeReaderRefresh",
	"FloorPreadStatsFiles", "RightsizeReadStatsCore", "RightsizeReadStats", "ContainerdStat",
	"FloorColdFiles", "FloorColdDiscoveryFiles", "RightsizeColdDiscovery", "AutomaxprocsSet", "AutomemlimitFromCgroup", "PeersTogether", "ContainerdLoadStat"}

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
	if floor == 0 {
		floor = med(m["FloorPreadMemory"].nsOrNil())
	}
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
	b.WriteString("\nTargets:\n\n")
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
	ratio := func(a, f string) (float64, bool) {
		x, _, ok1 := get(a)
		y, _, ok2 := get(f)
		return x / y, ok1 && ok2 && y > 0
	}
	if r, ok := ratio("RightsizeStart", "FloorStartFiles"); ok {
		fmt.Fprintf(&b, "- the blank import's init ≤ 1.3× its floor: %.2f× — %s\n", r, check(r <= 1.3))
	}
	if _, allocs, ok := get("RightsizeReaderRefresh"); ok {
		fmt.Fprintf(&b, "- a Reader refresh at 0 allocs: %.0f — %s\n", allocs, check(allocs == 0))
	}
	if r, ok := ratio("RightsizeRead", "FloorReadFiles"); ok {
		fmt.Fprintf(&b, "- runtimeinfo.Read ≤ 1.5× its floor: %.2f× — %s\n", r, check(r <= 1.5))
	}
	if r, ok := ratio("RightsizeColdDiscovery", "FloorColdDiscoveryFiles"); ok {
		fmt.Fprintf(&b, "- cold discovery ≤ 1.3× its floor: %.2f× — %s\n", r, check(r <= 1.3))
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
			fmt.Fprintf(&b, "- cold discovery ≥ 3× faster than automaxprocs + automemlimit together: %.1f× — %s\n", peers/cold, check(peers/cold >= 3))
		}
	}
	b.WriteString(paired(m))
	return b.String()
}

// pairs are the paired ratios reported: a over b.
var pairs = [][3]string{
	{"RightsizeStart", "FloorStartFiles", "the blank import's init / its floor (target ≤ 1.3)"},
	{"RightsizeRead", "FloorReadFiles", "runtimeinfo.Read / its floor (target ≤ 1.5)"},
	{"RightsizeColdDiscovery", "FloorColdDiscoveryFiles", "cold discovery / its floor (target ≤ 1.3)"},
	{"PeersTogether", "RightsizeColdDiscovery", "automaxprocs + automemlimit / cold discovery (target ≥ 3)"},
	{"PeersTogether", "FloorColdDiscoveryFiles", "automaxprocs + automemlimit / cold discovery's floor (the most any reader of these files could reach)"},
}

// paired renders the ratios within each run, when every benchmark of a
// pair has the same number of samples (two or more).
func paired(m map[string]*samples) string {
	var b strings.Builder
	for _, p := range pairs {
		x, y := m[p[0]], m[p[1]]
		if x == nil || y == nil || len(x.ns) < 2 || len(x.ns) != len(y.ns) {
			continue
		}
		rs := make([]float64, len(x.ns))
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range x.ns {
			rs[i] = x.ns[i] / y.ns[i]
			lo, hi = math.Min(lo, rs[i]), math.Max(hi, rs[i])
		}
		if b.Len() == 0 {
			fmt.Fprintf(&b, "\nPaired ratios (within each of %d runs; median, range):\n\n", len(rs))
		}
		fmt.Fprintf(&b, "- %s: %.2f× (%.2f–%.2f)\n", p[2], report.Median(rs), lo, hi)
	}
	return b.String()
}

func (s *samples) nsOrNil() []float64 {
	if s == nil {
		return nil
	}
	return s.ns
}
