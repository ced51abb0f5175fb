package prometheus_test

import (
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/rightsize/rightsize/cgroup"
	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
)

// sample is one gathered metric: its family's type, its value and its
// labels ("k=v,k=v", sorted).
type sample struct {
	typ    dto.MetricType
	value  float64
	labels string
}

func gauge(v float64) sample   { return sample{typ: dto.MetricType_GAUGE, value: v} }
func counter(v float64) sample { return sample{typ: dto.MetricType_COUNTER, value: v} }

func skipUnlessLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
}

// gather registers c on a fresh pedantic registry (which checks every
// metric against its descriptor), scrapes it and returns one sample per
// family; families with more than one metric fail the test.
func gather(t *testing.T, c prometheus.Collector) map[string]sample {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]sample{}
	for _, mf := range mfs {
		if len(mf.GetMetric()) != 1 {
			t.Fatalf("%s: %d metrics, want 1", mf.GetName(), len(mf.GetMetric()))
		}
		m := mf.GetMetric()[0]
		s := sample{typ: mf.GetType()}
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			s.value = m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			s.value = m.GetCounter().GetValue()
		default:
			t.Fatalf("%s: unexpected type %v", mf.GetName(), mf.GetType())
		}
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		s.labels = strings.Join(ls, ",")
		got[mf.GetName()] = s
	}
	return got
}

func compare(t *testing.T, got, want map[string]sample) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if g.typ != w.typ {
			t.Errorf("%s: type %v, want %v", name, g.typ, w.typ)
		}
		if math.Abs(g.value-w.value) > 1e-9*math.Max(1, math.Abs(w.value)) {
			t.Errorf("%s = %v, want %v", name, g.value, w.value)
		}
		if g.labels != w.labels {
			t.Errorf("%s labels = {%s}, want {%s}", name, g.labels, w.labels)
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s = %v: unexpected (should be absent)", name, g.value)
		}
	}
}

// withMemoryLimit sets GOMEMLIMIT for the test and restores it.
func withMemoryLimit(t *testing.T, n int64) {
	t.Helper()
	old := debug.SetMemoryLimit(n)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
}

func newCollector(t *testing.T, opts ...rsprom.Option) *rsprom.Collector {
	t.Helper()
	c, err := rsprom.NewCollector(opts...)
	if err != nil {
		t.Fatalf("NewCollector: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The library's own fixture: a cgroup v2 host, the process in /a/b, the
// parent /a tighter for CPU and memory. The expected values are those of
// cgroup/fixtures_test.go (fixtureTests["v2-nested"], TestFixtureStats).
// The tree has no /proc/self/status, so the CPUs allowed are
// runtime.NumCPU() bounded by the cpuset (0-1), as in runtimeinfo.
func TestCollectorV2Nested(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, 400<<20)
	root := filepath.Join("..", "..", "cgroup", "testdata", "v2-nested")
	c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil))
	got := gather(t, c)
	compare(t, got, map[string]sample{
		rsprom.MetricCPULimit:            gauge(2), // /a: cpu.max 200000 100000 (leaf: max)
		rsprom.MetricCPUsAllowed:         gauge(float64(min(runtime.NumCPU(), 2))),
		rsprom.MetricCPUUsage:            counter(2.5),
		rsprom.MetricCPUPeriods:          counter(50),
		rsprom.MetricCPUThrottledPeriods: counter(5),
		rsprom.MetricCPUThrottledSeconds: counter(0.25),
		rsprom.MetricMemoryLimit:         gauge(524288000),  // /a, tighter than the leaf's 1048576000
		rsprom.MetricMemoryHigh:          gauge(1073741824), // leaf; /a says max
		rsprom.MetricMemoryUsage:         gauge(209715200),
		rsprom.MetricMemoryWorkingSet:    gauge(209715200 - 52428800),
		rsprom.MetricPIDsCurrent:         gauge(12),
		rsprom.MetricPIDsLimit:           gauge(200),
		rsprom.MetricGOMAXPROCS:          gauge(float64(runtime.GOMAXPROCS(0))),
		rsprom.MetricGOMEMLIMIT:          gauge(400 << 20),
		// Not Kubernetes: cpu.weight 100 is the default relative weight,
		// not a request, so rightsize_cpu_request_cores is absent.
		rsprom.MetricInfo: {typ: dto.MetricType_GAUGE, value: 1,
			labels: "cgroup_layout=v2,container=false,orchestrator=,qos_class=,runtime="},
		rsprom.MetricReadErrors: counter(0),
	})
}

// A Burstable pod on cgroup v2 with a private cgroup namespace (0::/):
// the container's CPU quota is visible, its memory limit is not (memory.max
// "max" at the namespace root, as in sandboxes), so the Downward API value
// fills in; the request comes from cpu.weight; pids.max says max, so no
// pids limit sample; GOMEMLIMIT unset gives no sample.
func TestCollectorKubernetes(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, math.MaxInt64)
	c := newCollector(t, rsprom.WithRoot(filepath.Join("testdata", "k8s-v2-cgroupns")), rsprom.WithLogger(nil))
	got := gather(t, c)
	compare(t, got, map[string]sample{
		rsprom.MetricCPULimit:            gauge(1.5), // cpu.max 150000 100000 wins over RIGHTSIZE_CPU_LIMIT_MILLIS
		rsprom.MetricCPURequest:          gauge(float64(cgroup.MilliCPUFromWeight(59)) / 1000),
		rsprom.MetricCPUsAllowed:         gauge(4), // Cpus_allowed_list 0-7, cpuset 0-3
		rsprom.MetricCPUUsage:            counter(73.5),
		rsprom.MetricCPUPeriods:          counter(9000),
		rsprom.MetricCPUThrottledPeriods: counter(450),
		rsprom.MetricCPUThrottledSeconds: counter(12.75),
		rsprom.MetricMemoryLimit:         gauge(536870912), // RIGHTSIZE_MEMORY_LIMIT_BYTES
		rsprom.MetricMemoryRequest:       gauge(268435456), // RIGHTSIZE_MEMORY_REQUEST_BYTES
		rsprom.MetricMemoryUsage:         gauge(134217728),
		rsprom.MetricMemoryWorkingSet:    gauge(134217728 - 16777216),
		rsprom.MetricPIDsCurrent:         gauge(9),
		rsprom.MetricGOMAXPROCS:          gauge(float64(runtime.GOMAXPROCS(0))),
		rsprom.MetricInfo: {typ: dto.MetricType_GAUGE, value: 1,
			labels: "cgroup_layout=v2,container=true,orchestrator=kubernetes,qos_class=Burstable,runtime=containerd"},
		rsprom.MetricReadErrors: counter(0),
	})
	// The request recovered from cpu.weight 59 is about the 500m of
	// RIGHTSIZE_CPU_REQUEST_MILLIS.
	if r := got[rsprom.MetricCPURequest].value; math.Abs(r-0.5) > 0.02 {
		t.Errorf("request from weight 59 = %v, want about 0.5", r)
	}
}

// Lint the exposition as promtool check metrics does.
func TestLint(t *testing.T) {
	roots := []string{"", filepath.Join("testdata", "k8s-v2-cgroupns"), filepath.Join("..", "..", "cgroup", "testdata", "v2-nested")}
	for _, root := range roots {
		name := root
		if name == "" {
			name = "live"
		}
		t.Run(name, func(t *testing.T) {
			var opts []rsprom.Option
			if root != "" {
				skipUnlessLinux(t)
				opts = append(opts, rsprom.WithRoot(root))
			}
			c := newCollector(t, append(opts, rsprom.WithLogger(nil))...)
			problems, err := testutil.CollectAndLint(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint: %s: %s", p.Metric, p.Text)
			}
			if n := testutil.CollectAndCount(c); n < 3 {
				t.Errorf("%d metrics, want at least GOMAXPROCS, CPUs and info", n)
			}
		})
	}
}

// On the live system whatever it is (a host, a container, no cgroups at
// all): the collector registers, scrapes without read errors, and the
// runtime settings are this process's.
func TestCollectorLive(t *testing.T) {
	withMemoryLimit(t, 123<<20)
	c := newCollector(t)
	got := gather(t, c)
	for name, want := range map[string]float64{
		rsprom.MetricGOMAXPROCS: float64(runtime.GOMAXPROCS(0)),
		rsprom.MetricGOMEMLIMIT: 123 << 20,
		rsprom.MetricInfo:       1,
	} {
		if got[name].value != want {
			t.Errorf("%s = %v, want %v", name, got[name].value, want)
		}
	}
	if n := got[rsprom.MetricCPUsAllowed].value; n < 1 || n > float64(runtime.NumCPU()) {
		t.Errorf("%s = %v, want 1..%d", rsprom.MetricCPUsAllowed, n, runtime.NumCPU())
	}
	if e := got[rsprom.MetricReadErrors].value; e != 0 {
		t.Errorf("%s = %v on the live system", rsprom.MetricReadErrors, e)
	}
	t.Logf("live: %+v", got)
}

// Limits are re-read on every scrape: an in-place resize shows at the next
// one, without a new collector.
func TestResizeSeenOnNextScrape(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, filepath.Join("testdata", "k8s-v2-cgroupns"))
	c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil))
	if v := gather(t, c)[rsprom.MetricCPULimit].value; v != 1.5 {
		t.Fatalf("before: %v", v)
	}
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), "250000 100000\n")
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/memory.max"), "1073741824\n")
	got := gather(t, c)
	if v := got[rsprom.MetricCPULimit].value; v != 2.5 {
		t.Errorf("CPU limit after resize = %v, want 2.5", v)
	}
	if v := got[rsprom.MetricMemoryLimit].value; v != 1073741824 {
		t.Errorf("memory limit after resize = %v, want 1073741824 (cgroup wins over the stale Downward API value)", v)
	}
}

// A file that turns malformed leaves its value out, counts a read error,
// logs once, and the rest of the scrape goes on; when the file is fixed the
// value returns.
func TestReadErrorLeavesValueOut(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, filepath.Join("testdata", "k8s-v2-cgroupns"))
	var logs strings.Builder
	c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(newTextLogger(&logs)))
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), "lots 100000\n")
	for i := 0; i < 3; i++ {
		got := gather(t, c)
		// Like runtimeinfo, an unreadable CPU limit falls back to the
		// Downward API value.
		if v := got[rsprom.MetricCPULimit].value; v != 1.5 {
			t.Errorf("scrape %d: CPU limit = %v, want the Downward API's 1.5", i, v)
		}
		if v := got[rsprom.MetricMemoryUsage].value; v != 134217728 {
			t.Errorf("scrape %d: memory usage = %v: the other values must still be read", i, v)
		}
		if v := got[rsprom.MetricReadErrors].value; v != float64(i+1) {
			t.Errorf("scrape %d: read errors = %v, want %d", i, v, i+1)
		}
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), "50000 100000\n")
	got := gather(t, c)
	if v := got[rsprom.MetricCPULimit].value; v != 0.5 {
		t.Errorf("after the fix: CPU limit = %v, want 0.5", v)
	}
	if v := got[rsprom.MetricReadErrors].value; v != 3 {
		t.Errorf("after the fix: read errors = %v, want 3", v)
	}
	if !strings.Contains(logs.String(), "recovered") {
		t.Errorf("no recovery line:\n%s", logs.String())
	}
}

// Concurrent scrapes (several registries, or a slow scrape overlapping the
// next) are serialised; run with -race.
func TestConcurrentScrapes(t *testing.T) {
	c := newCollector(t, rsprom.WithLogger(nil))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			for j := 0; j < 20; j++ {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// After Close the runtime settings and the info metric remain.
func TestClose(t *testing.T) {
	c := newCollector(t, rsprom.WithLogger(nil))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := gather(t, c)
	for _, name := range []string{rsprom.MetricCPUUsage, rsprom.MetricMemoryUsage, rsprom.MetricPIDsCurrent} {
		if _, ok := got[name]; ok {
			t.Errorf("%s exported after Close", name)
		}
	}
	if _, ok := got[rsprom.MetricGOMAXPROCS]; !ok {
		t.Errorf("%s missing after Close", rsprom.MetricGOMAXPROCS)
	}
	if v := got[rsprom.MetricReadErrors].value; v != 0 {
		t.Errorf("read errors after Close = %v", v)
	}
}
