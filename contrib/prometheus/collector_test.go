package prometheus_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/rightsize/rightsize/cgroup"
	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// sample is one gathered metric: its family's type and its value.
type sample struct {
	typ   dto.MetricType
	value float64
}

func gauge(v float64) sample   { return sample{typ: dto.MetricType_GAUGE, value: v} }
func counter(v float64) sample { return sample{typ: dto.MetricType_COUNTER, value: v} }

// Fixture trees.
var (
	k8sTree    = filepath.Join("testdata", "k8s-v2-cgroupns")
	cmdTrees   = filepath.Join("..", "..", "cmd", "rightsize", "testdata", "trees")
	hostNested = filepath.Join(cmdTrees, "v2-host-nested")
	v1Pod      = filepath.Join(cmdTrees, "k8s-v1-burstable")
	v2Pod      = filepath.Join(cmdTrees, "k8s-v2-guaranteed")
	hybrid     = filepath.Join(cmdTrees, "hybrid-docker")
	// The Kubernetes fixture with a process table: the service is PID 1
	// of the pod, with 9 threads, 5 descriptors of RLIMIT_NOFILE 1024
	// (hard 4096); 4 processes in the PID namespace, 2 of them zombies;
	// 2 children (a zombie "sleep" and a "sh" whose zombie child "probe"
	// is not its parent's to reap).
	pid1Tree = filepath.Join("testdata", "k8s-v2-pid1")
)

func skipUnlessLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
}

// key names one sample: the family name, then its labels sorted, as
// name{k="v",k="v"}.
func key(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var ls []string
	for i := 0; i+1 < len(labels); i += 2 {
		ls = append(ls, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// gatherFrom scrapes a registry and returns its samples by key.
func gatherFrom(t *testing.T, g prometheus.Gatherer) map[string]sample {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]sample{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			s := sample{typ: mf.GetType()}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				s.value = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				s.value = m.GetCounter().GetValue()
			default:
				continue // the Go collector's histograms and summaries
			}
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName(), l.GetValue())
			}
			k := key(mf.GetName(), ls...)
			if _, dup := got[k]; dup {
				t.Fatalf("%s twice", k)
			}
			got[k] = s
		}
	}
	return got
}

// gather registers c on a fresh pedantic registry (which checks every
// metric against its descriptor) and scrapes it.
func gather(t *testing.T, c prometheus.Collector) map[string]sample {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return gatherFrom(t, reg)
}

func compare(t *testing.T, got, want map[string]sample) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if g.typ != w.typ {
			t.Errorf("%s: type %v, want %v", k, g.typ, w.typ)
		}
		if math.Abs(g.value-w.value) > 1e-9*math.Max(1, math.Abs(w.value)) {
			t.Errorf("%s = %v, want %v", k, g.value, w.value)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %v: unexpected (should be absent)", k, g.value)
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

func info(container bool, runtime, orchestrator, qos, layout string) string {
	return key(rsprom.MetricInfo, "container", strconv.FormatBool(container), "runtime", runtime,
		"orchestrator", orchestrator, "qos_class", qos, "cgroup_layout", layout)
}

func pressure(resource, kind, scope string) string {
	return key(rsprom.MetricPressureStalled, "resource", resource, "kind", kind, "scope", scope)
}

func memEvent(event string) string {
	return key(rsprom.MetricMemoryEvents, "event", event)
}

func signals(cause runtimeinfo.PressureCause) string {
	return key(rsprom.MetricMemoryPressureSignals, "cause", string(cause))
}

var causes = runtimeinfo.PressureCauses()

// withSignals adds the memory pressure signal counts of this process,
// which every scrape exports, whatever the root.
func withSignals(want map[string]sample) map[string]sample {
	for _, c := range causes {
		want[signals(c)] = counter(float64(runtimeinfo.PressureSignals(c)))
	}
	return want
}

// A cgroup v2 host (a captured tree), the process in /a/b, the parent /a
// tighter for CPU and memory; cpuset 0-3 of 8 CPUs; pressure from the
// process's own cgroup.
func TestCollectorV2HostNested(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, 400<<20)
	c := newCollector(t, rsprom.WithRoot(hostNested), rsprom.WithLogger(nil))
	compare(t, gather(t, c), withSignals(map[string]sample{
		rsprom.MetricCPULimit:                   gauge(2.5), // /a: cpu.max 250000 100000 (leaf: max, so no rightsize_cpu_leaf_limit_cores)
		rsprom.MetricCPUsAllowed:                gauge(4),   // Cpus_allowed_list 0-7, cpuset 0-3
		rsprom.MetricCPUUsage:                   counter(2.5),
		rsprom.MetricCPUUsageOtherCgroup:        gauge(0),
		rsprom.MetricCPUPeriods:                 counter(50),
		rsprom.MetricCPUThrottledPeriods:        counter(5),
		rsprom.MetricCPUThrottledSeconds:        counter(0.25),
		rsprom.MetricMemoryLimit:                gauge(524288000),   // /a, tighter than the leaf's 1048576000
		rsprom.MetricMemoryHigh:                 gauge(314572800),   // leaf; /a says max
		rsprom.MetricMemoryHost:                 gauge(16777216000), // the tree's /proc/meminfo MemTotal
		rsprom.MetricMemoryUsage:                gauge(209715200),
		rsprom.MetricMemoryWorkingSet:           gauge(209715200 - 52428800),
		rsprom.MetricMemorySwapLimit:            gauge(0),    // leaf memory.swap.max 0: no swap at all, a limit
		memEvent("high"):                        counter(12), // the leaf's memory.events
		memEvent("max"):                         counter(3),
		memEvent("oom"):                         counter(1),
		memEvent("oom_kill"):                    counter(1),
		rsprom.MetricPIDsCurrent:                gauge(12),
		rsprom.MetricPIDsLimit:                  gauge(200),
		pressure("cpu", "some", "container"):    counter(0.123456),
		pressure("cpu", "full", "container"):    counter(0.065432),
		pressure("memory", "some", "container"): counter(0),
		pressure("memory", "full", "container"): counter(0),
		pressure("io", "some", "container"):     counter(0.00001),
		pressure("io", "full", "container"):     counter(0.000005),
		rsprom.MetricGOMAXPROCS:                 gauge(float64(runtime.GOMAXPROCS(0))),
		rsprom.MetricGOMEMLIMIT:                 gauge(400 << 20),
		// Not Kubernetes: cpu.weight 100 is the default relative weight,
		// not a request, so rightsize_cpu_request_cores is absent.
		info(false, "", "", "", "v2"): gauge(1),
		rsprom.MetricReadErrors:       counter(0),
	}))
}

// A Burstable pod on cgroup v2 with a private cgroup namespace (0::/):
// the container's CPU quota is visible, its memory limit is not (memory.max
// "max" at the namespace root, as in sandboxes), so the Downward API value
// fills in; the request comes from cpu.weight; pids.max says max, so no
// pids limit sample; GOMEMLIMIT unset gives no sample.
func TestCollectorKubernetes(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, math.MaxInt64)
	c := newCollector(t, rsprom.WithRoot(k8sTree), rsprom.WithLogger(nil))
	got := gather(t, c)
	compare(t, got, withSignals(map[string]sample{
		rsprom.MetricCPULimit:                                     gauge(1.5),   // cpu.max 150000 100000 wins over RIGHTSIZE_CPU_LIMIT_MILLIS
		rsprom.MetricCPULeafLimit:                                 gauge(1.5),   // the same cpu.max, the process's own cgroup's
		rsprom.MetricCPURequest:                                   gauge(0.509), // cpu.weight 59
		rsprom.MetricCPUsAllowed:                                  gauge(4),     // Cpus_allowed_list 0-7, cpuset 0-3
		rsprom.MetricCPUUsage:                                     counter(73.5),
		rsprom.MetricCPUUsageOtherCgroup:                          gauge(0),
		rsprom.MetricCPUPeriods:                                   counter(9000),
		rsprom.MetricCPUThrottledPeriods:                          counter(450),
		rsprom.MetricCPUThrottledSeconds:                          counter(12.75),
		rsprom.MetricMemoryLimit:                                  gauge(536870912),   // RIGHTSIZE_MEMORY_LIMIT_BYTES
		rsprom.MetricMemoryRequest:                                gauge(268435456),   // RIGHTSIZE_MEMORY_REQUEST_BYTES
		rsprom.MetricMemoryHost:                                   gauge(16757338112), // the tree's /proc/meminfo MemTotal
		rsprom.MetricMemoryUsage:                                  gauge(134217728),
		rsprom.MetricMemoryWorkingSet:                             gauge(134217728 - 16777216),
		rsprom.MetricMemoryPeak:                                   gauge(150994944), // memory.peak
		memEvent("high"):                                          counter(0),
		memEvent("max"):                                           counter(0),
		memEvent("oom"):                                           counter(0),
		memEvent("oom_kill"):                                      counter(0),
		rsprom.MetricPIDsCurrent:                                  gauge(9),
		rsprom.MetricGOMAXPROCS:                                   gauge(float64(runtime.GOMAXPROCS(0))),
		info(true, "containerd", "kubernetes", "Burstable", "v2"): gauge(1),
		rsprom.MetricReadErrors:                                   counter(0),
	}))
	// The request recovered from cpu.weight 59 is about the 500m of
	// RIGHTSIZE_CPU_REQUEST_MILLIS.
	if r := got[rsprom.MetricCPURequest].value; math.Abs(r-0.5) > 0.02 {
		t.Errorf("request from weight 59 = %v, want about 0.5", r)
	}
}

// fixtureTrees lists every fixture tree of the repository that the
// exporters can read: the cgroup package's, the command's, the detection
// fixtures, procfs's process tables, this module's and the Kubernetes
// example's.
func fixtureTrees(t *testing.T) []string {
	t.Helper()
	var roots []string
	for _, dir := range []string{
		filepath.Join("..", "..", "cgroup", "testdata"),
		cmdTrees,
		filepath.Join("..", "..", "detect", "testdata"),
		filepath.Join("..", "..", "procfs", "testdata"), // process tables
		"testdata",
	} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.IsDir() {
				roots = append(roots, filepath.Join(dir, e.Name()))
			}
		}
	}
	return append(roots, filepath.Join("..", "..", "examples", "kubernetes", "testdata", "pod"))
}

// expected is what the collector must export for a snapshot and
// environment taken by runtimeinfo on the same tree: the mapping from the
// library's values to metrics, written out independently of the collector.
func expected(s *runtimeinfo.Snapshot, r *runtimeinfo.Reader) map[string]sample {
	want := map[string]sample{}
	if s.HasCPULimit {
		want[rsprom.MetricCPULimit] = gauge(s.CPULimit.CPUs)
	}
	if s.HasLeafCPULimit {
		want[rsprom.MetricCPULeafLimit] = gauge(s.LeafCPULimit.CPUs)
	}
	if s.HasCPURequest {
		want[rsprom.MetricCPURequest] = gauge(float64(s.CPURequest.MilliCPU()) / 1000)
	}
	want[rsprom.MetricCPUsAllowed] = gauge(float64(s.CPUs.N))
	st := s.Stats
	if st.CPU.HasUsage {
		want[rsprom.MetricCPUUsage] = counter(st.CPU.Usage.Seconds())
		want[rsprom.MetricCPUUsageOtherCgroup] = gauge(0)
		if s.CPUUsageElsewhere {
			want[rsprom.MetricCPUUsageOtherCgroup] = gauge(1)
		}
	}
	if st.CPU.HasThrottling {
		want[rsprom.MetricCPUPeriods] = counter(float64(st.CPU.Throttling.Periods))
		want[rsprom.MetricCPUThrottledPeriods] = counter(float64(st.CPU.Throttling.ThrottledPeriods))
		want[rsprom.MetricCPUThrottledSeconds] = counter(st.CPU.Throttling.ThrottledTime.Seconds())
	}
	if s.HasMemoryLimit {
		want[rsprom.MetricMemoryLimit] = gauge(float64(s.MemoryLimit.Bytes))
	}
	if s.HasMemoryHigh {
		want[rsprom.MetricMemoryHigh] = gauge(float64(s.MemoryHigh.Bytes))
	}
	if s.HasMemoryRequest {
		want[rsprom.MetricMemoryRequest] = gauge(float64(s.MemoryRequest.Bytes))
	}
	if s.HasHostMemory {
		want[rsprom.MetricMemoryHost] = gauge(float64(s.HostMemory.Bytes))
	}
	if st.Memory.HasUsage {
		want[rsprom.MetricMemoryUsage] = gauge(float64(st.Memory.Usage))
	}
	if st.Memory.HasWorkingSet {
		want[rsprom.MetricMemoryWorkingSet] = gauge(float64(st.Memory.WorkingSet))
	}
	if st.Memory.HasPeak {
		want[rsprom.MetricMemoryPeak] = gauge(float64(st.Memory.Peak))
	}
	if s.HasSwapLimit {
		want[rsprom.MetricMemorySwapLimit] = gauge(float64(s.SwapLimit.Bytes))
	}
	if st.Memory.HasEvents {
		want[memEvent("high")] = counter(float64(st.Memory.Events.High))
		want[memEvent("max")] = counter(float64(st.Memory.Events.Max))
		want[memEvent("oom")] = counter(float64(st.Memory.Events.OOM))
		want[memEvent("oom_kill")] = counter(float64(st.Memory.Events.OOMKill))
	}
	if st.PIDs.HasCurrent {
		want[rsprom.MetricPIDsCurrent] = gauge(float64(st.PIDs.Current))
	}
	if s.HasPIDsLimit {
		want[rsprom.MetricPIDsLimit] = gauge(float64(s.PIDsLimit.N))
	}
	scope := "container"
	if st.Pressure.HostWide {
		scope = "host"
	}
	for _, p := range []struct {
		name string
		has  bool
		psi  cgroup.PSI
	}{{"cpu", st.Pressure.HasCPU, st.Pressure.CPU}, {"memory", st.Pressure.HasMemory, st.Pressure.Memory}, {"io", st.Pressure.HasIO, st.Pressure.IO}} {
		if p.has {
			want[pressure(p.name, "some", scope)] = counter(p.psi.Some.Total.Seconds())
			if p.psi.HasFull {
				want[pressure(p.name, "full", scope)] = counter(p.psi.Full.Total.Seconds())
			}
		}
	}
	pt := s.ProcessTable
	if pt.HasProcesses {
		want[rsprom.MetricPIDNamespaceProcesses] = gauge(float64(pt.Processes))
		want[rsprom.MetricPIDNamespaceZombies] = gauge(float64(pt.Zombies))
	}
	if pt.HasChildren {
		want[rsprom.MetricProcessChildren] = gauge(float64(pt.Children))
		want[rsprom.MetricProcessZombieChildren] = gauge(float64(pt.ZombieChildren))
	}
	if pt.HasThreads {
		want[rsprom.MetricProcessThreads] = gauge(float64(pt.Threads))
	}
	if pt.HasFDs {
		want[rsprom.MetricProcessOpenFDs] = gauge(float64(pt.FDs))
	}
	if pt.HasFDLimit && pt.FDLimit.Soft != procfs.Unlimited {
		want[rsprom.MetricProcessMaxFDs] = gauge(float64(pt.FDLimit.Soft))
	}
	if s.Reaper.Mode != "" { // the live process only
		active := 0.0
		if s.Reaper.Active {
			active = 1
		}
		want[key(rsprom.MetricReaperActive, "mode", s.Reaper.Mode)] = gauge(active)
		want[rsprom.MetricReaperReaped] = counter(float64(s.Reaper.Reaped))
	}
	withSignals(want)
	want[rsprom.MetricGOMAXPROCS] = gauge(float64(runtime.GOMAXPROCS(0)))
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		want[rsprom.MetricGOMEMLIMIT] = gauge(float64(n))
	}
	env := r.Environment()
	qos := ""
	if env.HasKubernetes {
		qos = string(env.Kubernetes.QOSClass)
	}
	want[info(env.Container, string(env.Runtime), string(env.Orchestrator), qos, string(s.Layout))] = gauge(1)
	errs := 0.0
	for _, err := range s.Errors {
		if !errors.Is(err, cgroup.ErrNotSupported) {
			errs = 1
		}
	}
	want[rsprom.MetricReadErrors] = counter(errs)
	return want
}

// The collector and runtimeinfo agree on every fixture tree: same values,
// same absences, same sources of truth (hierarchy minimum, cpuset ∩
// affinity, Downward API fallback, the CPU request rule, pressure scope),
// and a read error exactly where runtimeinfo reports one.
func TestAgreesWithRuntimeinfo(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, 256<<20)
	for _, root := range fixtureTrees(t) {
		t.Run(root, func(t *testing.T) {
			r, err := runtimeinfo.NewReader(runtimeinfo.WithRoot(root), runtimeinfo.WithFields(runtimeinfo.FieldAll), runtimeinfo.WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var s runtimeinfo.Snapshot
			_ = r.Read(&s)
			c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil))
			compare(t, gather(t, c), expected(&s, r))
		})
	}
}

// The CPU request follows runtimeinfo's one rule: in Kubernetes the
// kubelet's cpu.shares or cpu.weight; outside Kubernetes never a cgroup
// weight (a relative weight nobody asked for), only
// RIGHTSIZE_CPU_REQUEST_MILLIS.
func TestCPURequestRule(t *testing.T) {
	skipUnlessLinux(t)
	withEnv := copyTree(t, hostNested)
	writeFile(t, filepath.Join(withEnv, "proc/self/environ"), "PATH=/usr/bin\x00RIGHTSIZE_CPU_REQUEST_MILLIS=250\x00")
	for _, tc := range []struct {
		root string
		want float64 // 0: absent
	}{
		{hostNested, 0},     // cpu.weight 100 on a host: no request
		{hybrid, 0},         // cpu.shares in Docker: no request
		{withEnv, 0.25},     // the Downward API variable, outside Kubernetes too
		{v1Pod, 1.5},        // cpu.shares 1536 in a pod
		{v2Pod, 2.012},      // cpu.weight 79 in a pod (approximate)
		{k8sTree, 0.509},    // cpu.weight 59 wins over RIGHTSIZE_CPU_REQUEST_MILLIS=500
		{"/nonexistent", 0}, // nothing readable
		{filepath.Join("..", "..", "detect", "testdata", "k8s-env-only"), 0},
	} {
		got := gather(t, newCollector(t, rsprom.WithRoot(tc.root), rsprom.WithLogger(nil)))
		s, ok := got[rsprom.MetricCPURequest]
		switch {
		case tc.want == 0 && ok:
			t.Errorf("%s: request %v, want none", tc.root, s.value)
		case tc.want != 0 && !ok:
			t.Errorf("%s: no request, want %v", tc.root, tc.want)
		case ok && math.Abs(s.value-tc.want) > 1e-9:
			t.Errorf("%s: request %v, want %v", tc.root, s.value, tc.want)
		}
	}
}

// Pressure that describes the whole host is labelled scope="host": read
// from /proc/pressure (no v2 cgroup with pressure files), or from the root
// of the v2 hierarchy (the process in no v2 cgroup of its own).
func TestPressureScope(t *testing.T) {
	skipUnlessLinux(t)
	procPressure := copyTree(t, v1Pod)
	for _, r := range []string{"cpu", "memory", "io"} {
		createFile(t, filepath.Join(procPressure, "proc/pressure", r),
			"some avg10=1.00 avg60=2.00 avg300=3.00 total=4000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n")
	}
	unifiedRoot := copyTree(t, hybrid)
	createFile(t, filepath.Join(unifiedRoot, "sys/fs/cgroup/unified/cgroup.procs"), "1\n")

	for _, tc := range []struct {
		root  string
		scope string // "": no pressure
		cpu   float64
	}{
		{hostNested, "container", 0.123456},
		{v1Pod, "", 0},                    // v1 only, no /proc/pressure in the tree
		{procPressure, "host", 4},         // /proc/pressure
		{unifiedRoot, "host", 597.164461}, // 0::/ is the root of the v2 hierarchy (cgroup.procs, no cgroup.type)
	} {
		got := gather(t, newCollector(t, rsprom.WithRoot(tc.root), rsprom.WithLogger(nil)))
		var keys []string
		for k := range got {
			if strings.HasPrefix(k, rsprom.MetricPressureStalled) {
				keys = append(keys, k)
			}
		}
		if tc.scope == "" {
			if len(keys) > 0 {
				t.Errorf("%s: pressure %v, want none", tc.root, keys)
			}
			continue
		}
		other := map[string]string{"host": "container", "container": "host"}[tc.scope]
		for _, k := range keys {
			if strings.Contains(k, `scope="`+other+`"`) {
				t.Errorf("%s: %s, want scope %q", tc.root, k, tc.scope)
			}
		}
		if s, ok := got[pressure("cpu", "some", tc.scope)]; !ok || math.Abs(s.value-tc.cpu) > 1e-9 {
			t.Errorf("%s: cpu some (scope %s) = %v (present %v), want %v; have %v", tc.root, tc.scope, s.value, ok, tc.cpu, keys)
		}
	}
}

// CPU usage read from another cgroup than the limit's is flagged: on
// hybrid-docker the cpu and cpuacct controllers are mounted apart, but the
// process is in / of both (not flagged); moved to /other in cpuacct only,
// usage and limit cover different sets of tasks (flagged).
func TestCPUUsageOtherCgroup(t *testing.T) {
	skipUnlessLinux(t)
	apart := copyTree(t, hybrid)
	writeFile(t, filepath.Join(apart, "proc/self/cgroup"),
		"9:name=systemd:/\n8:pids:/\n4:memory:/svc\n3:cpuset:/\n2:cpuacct:/other\n1:cpu:/\n0::/\n")
	createFile(t, filepath.Join(apart, "sys/fs/cgroup/cpuacct/other/cpuacct.usage"), "1500000000\n")
	for root, want := range map[string]float64{apart: 1, hybrid: 0, v1Pod: 0, hostNested: 0} {
		got := gather(t, newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil)))
		if s, ok := got[rsprom.MetricCPUUsageOtherCgroup]; !ok || s.value != want {
			t.Errorf("%s: %s = %v (present %v), want %v", root, rsprom.MetricCPUUsageOtherCgroup, s.value, ok, want)
		}
		if _, ok := got[rsprom.MetricCPUUsage]; !ok {
			t.Errorf("%s: no CPU usage", root)
		}
	}
}

// rightsize_gomaxprocs and rightsize_gomemlimit_bytes duplicate the default
// Go collector's go_sched_gomaxprocs_threads and go_gc_gomemlimit_bytes
// (client_golang v1.20+): they agree, except that "no GOMEMLIMIT" is no
// rightsize sample where the Go collector shows math.MaxInt64.
func TestAgreesWithGoCollector(t *testing.T) {
	for _, limit := range []int64{300 << 20, math.MaxInt64} {
		withMemoryLimit(t, limit)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(collectors.NewGoCollector(), newCollector(t, rsprom.WithLogger(nil)))
		got := gatherFrom(t, reg)
		goProcs, ok := got["go_sched_gomaxprocs_threads"]
		if !ok {
			t.Fatal("the default Go collector exports no go_sched_gomaxprocs_threads")
		}
		if rs := got[rsprom.MetricGOMAXPROCS]; rs.value != goProcs.value {
			t.Errorf("%s = %v, go_sched_gomaxprocs_threads = %v", rsprom.MetricGOMAXPROCS, rs.value, goProcs.value)
		}
		goMem, ok := got["go_gc_gomemlimit_bytes"]
		if !ok {
			t.Fatal("the default Go collector exports no go_gc_gomemlimit_bytes")
		}
		rsMem, ok := got[rsprom.MetricGOMEMLIMIT]
		switch {
		case limit == math.MaxInt64 && ok:
			t.Errorf("no GOMEMLIMIT: %s = %v, want no sample", rsprom.MetricGOMEMLIMIT, rsMem.value)
		case limit == math.MaxInt64 && goMem.value != math.MaxInt64:
			t.Errorf("no GOMEMLIMIT: go_gc_gomemlimit_bytes = %v", goMem.value)
		case limit != math.MaxInt64 && (!ok || rsMem.value != goMem.value || rsMem.value != float64(limit)):
			t.Errorf("%s = %v (present %v), go_gc_gomemlimit_bytes = %v, want %d", rsprom.MetricGOMEMLIMIT, rsMem.value, ok, goMem.value, limit)
		}
	}
}

// Lint the exposition as promtool check metrics does.
func TestLint(t *testing.T) {
	roots := []string{"", k8sTree, hostNested, v1Pod, hybrid, filepath.Join("..", "..", "cgroup", "testdata", "v2-nested")}
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
	root := copyTree(t, k8sTree)
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

// When the process moves to another cgroup, the Reader rediscovers and the
// next scrape shows the new cgroup's limits.
func TestMoveFollowed(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, hostNested)
	c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil))
	if v := gather(t, c)[rsprom.MetricCPULimit].value; v != 2.5 {
		t.Fatalf("before: %v", v)
	}
	createFile(t, filepath.Join(root, "sys/fs/cgroup/c/cpu.max"), "50000 100000\n")
	writeFile(t, filepath.Join(root, "proc/self/cgroup"), "0::/c\n")
	got := gather(t, c)
	if v, ok := got[rsprom.MetricCPULimit]; !ok || v.value != 0.5 {
		t.Errorf("CPU limit after the move = %v (present %v), want 0.5", v.value, ok)
	}
	if _, ok := got[rsprom.MetricMemoryLimit]; ok {
		t.Errorf("memory limit of the old cgroup exported after the move")
	}
}

// A file that turns malformed leaves its value out, counts a read error,
// logs once, and the rest of the scrape goes on; when the file is fixed the
// value returns.
func TestReadErrorLeavesValueOut(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, k8sTree)
	var logs strings.Builder
	c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(newTextLogger(&logs)))
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), "lots 100000\n")
	for i := 0; i < 3; i++ {
		got := gather(t, c)
		// An unreadable CPU limit falls back to the Downward API value.
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
	if !strings.Contains(logs.String(), "cpu.max") {
		t.Errorf("the log line does not name the file:\n%s", logs.String())
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

// A FIFO where a file should be is refused without blocking: the scrape
// returns, the value is left out and the error counted.
func TestFIFODoesNotBlock(t *testing.T) {
	skipUnlessLinux(t)
	for _, tc := range []struct {
		file string
		gone string // a metric the FIFO takes away
	}{
		{"sys/fs/cgroup/memory.current", rsprom.MetricMemoryUsage},
		{"proc/self/mountinfo", rsprom.MetricCPUUsage}, // the CPU limit falls back to the Downward API
		{"etc/hosts", ""},
	} {
		root := copyTree(t, k8sTree)
		p := filepath.Join(root, tc.file)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		mkfifo(t, p)
		done := make(chan *rsprom.Collector)
		go func() {
			c, err := rsprom.NewCollector(rsprom.WithRoot(root), rsprom.WithLogger(nil))
			if err != nil {
				t.Error(err)
			}
			if c != nil {
				prometheus.NewRegistry().Register(c)
				testutil.CollectAndCount(c)
			}
			done <- c
		}()
		var c *rsprom.Collector
		select {
		case c = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: a FIFO blocks the collector", tc.file)
		}
		if c == nil {
			continue
		}
		got := gather(t, c)
		c.Close()
		if _, ok := got[tc.gone]; ok && tc.gone != "" {
			t.Errorf("%s: %s exported", tc.file, tc.gone)
		}
		if tc.gone != "" && got[rsprom.MetricReadErrors].value < 1 {
			t.Errorf("%s: read errors = %v, want at least 1", tc.file, got[rsprom.MetricReadErrors].value)
		}
	}
}

// Concurrent scrapes (several registries, or a slow scrape overlapping the
// next) are serialised; run with -race.
func TestConcurrentScrapes(t *testing.T) {
	roots := []string{""}
	if runtime.GOOS == "linux" {
		roots = append(roots, hostNested)
	}
	for _, root := range roots {
		c := newCollector(t, rsprom.WithRoot(root), rsprom.WithLogger(nil))
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
		if root != "" {
			// A close during the scrapes: they go on with the runtime
			// settings.
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	}
}

// After Close the runtime settings, the info metric and the pressure
// signal counts remain.
func TestClose(t *testing.T) {
	c := newCollector(t, rsprom.WithLogger(nil))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	got := gather(t, c)
	for _, name := range []string{rsprom.MetricCPUUsage, rsprom.MetricMemoryUsage, rsprom.MetricPIDsCurrent, rsprom.MetricCPUsAllowed,
		rsprom.MetricProcessThreads, rsprom.MetricProcessOpenFDs, rsprom.MetricReaperReaped} {
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
	for _, c := range causes {
		if _, ok := got[signals(c)]; !ok {
			t.Errorf("%s missing after Close", signals(c))
		}
	}
}
