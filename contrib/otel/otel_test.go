package otel_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	semconv "go.opentelemetry.io/otel/semconv/v1.30.0"

	"github.com/rightsize/rightsize/cgroup"
	rsotel "github.com/rightsize/rightsize/contrib/otel"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Constructors of expected points, one per instrument kind and value type.
func udcInt(unit string, v float64) point   { return point{"updowncounter", unit, v, false} }
func udcFloat(unit string, v float64) point { return point{"updowncounter", unit, v, true} }
func ctrInt(unit string, v float64) point   { return point{"counter", unit, v, false} }
func ctrFloat(unit string, v float64) point { return point{"counter", unit, v, true} }
func gaugeInt(unit string, v float64) point { return point{"gauge", unit, v, false} }

func pressure(resource, kind, scope string) string {
	return keyKV(rsotel.MetricPressureStalledTime,
		attribute.String(rsotel.AttrPressureResource, resource),
		attribute.String(rsotel.AttrPressureKind, kind),
		attribute.String(rsotel.AttrPressureScope, scope))
}

// info is the key of rightsize.info; empty strings are left out.
func info(container bool, runtime, orchestrator, qos, layout string) string {
	kv := []attribute.KeyValue{
		attribute.Bool(rsotel.AttrContainerized, container),
		attribute.String(rsotel.AttrCgroupLayout, layout),
	}
	for k, v := range map[string]string{rsotel.AttrContainerRuntime: runtime, rsotel.AttrOrchestrator: orchestrator, rsotel.AttrK8sQOSClass: qos} {
		if v != "" {
			kv = append(kv, attribute.String(k, v))
		}
	}
	return keyKV(rsotel.MetricInfo, kv...)
}

func memEvent(event string) string {
	return keyKV(rsotel.MetricMemoryEvents, attribute.String(rsotel.AttrMemoryEvent, event))
}

func signals(cause runtimeinfo.PressureCause) string {
	return keyKV(rsotel.MetricMemoryPressureSignals, attribute.String(rsotel.AttrPressureCause, string(cause)))
}

var causes = runtimeinfo.PressureCauses()

// withSignals adds the memory pressure signal counts of this process,
// which every collection observes, whatever the root.
func withSignals(want map[string]point) map[string]point {
	for _, c := range causes {
		want[signals(c)] = ctrInt("{signal}", float64(runtimeinfo.PressureSignals(c)))
	}
	return want
}

// goPoints are the go.* points of this process.
func goPoints(want map[string]point) {
	want[rsotel.MetricGoProcessorLimit] = udcInt("{thread}", float64(runtime.GOMAXPROCS(0)))
	if n := debug.SetMemoryLimit(-1); n != math.MaxInt64 {
		want[rsotel.MetricGoMemoryLimit] = udcInt("By", float64(n))
	}
}

// withProc copies a cgroup package fixture (which has only the cgroup
// files) and adds the /proc files a captured system has: the affinity
// mask (CPUs 0-7) and the host's memory (8 GiB).
func withProc(t *testing.T, src string) string {
	t.Helper()
	root := copyTree(t, src)
	createFile(t, filepath.Join(root, "proc/self/status"), "Name:\tsvc\nCpus_allowed_list:\t0-7\n")
	createFile(t, filepath.Join(root, "proc/meminfo"), "MemTotal:        8388608 kB\nMemFree:         4194304 kB\n")
	return root
}

// A cgroup v2 host, the process in /a/b, the parent /a tighter for CPU
// and memory; pressure from the process's own cgroup.
func TestV2Nested(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, 400<<20)
	_, rd := register(t, rsotel.WithRoot(withProc(t, v2Nested)), rsotel.WithLogger(nil))
	want := map[string]point{
		rsotel.MetricGoProcessorLimit:           udcInt("{thread}", float64(runtime.GOMAXPROCS(0))),
		rsotel.MetricGoMemoryLimit:              udcInt("By", 400<<20),
		rsotel.MetricCPULimit:                   udcFloat("{cpu}", 2), // /a: 200000 100000 (leaf: max, so no leaf_limit)
		rsotel.MetricCPUAllowed:                 udcInt("{cpu}", 2),   // Cpus_allowed_list 0-7, cpuset 0-1
		rsotel.MetricContainerCPUTime:           ctrFloat("s", 2.5),
		rsotel.MetricCPUTimeOtherCgroup:         gaugeInt("", 0),
		rsotel.MetricCPUThrottlingPeriods:       ctrInt("{period}", 50),
		rsotel.MetricCPUThrottledPeriods:        ctrInt("{period}", 5),
		rsotel.MetricCPUThrottledTime:           ctrFloat("s", 0.25),
		rsotel.MetricMemoryLimit:                udcInt("By", 524288000),  // /a, tighter than the leaf's 1048576000
		rsotel.MetricMemoryHigh:                 udcInt("By", 1073741824), // leaf; /a says max
		rsotel.MetricContainerMemoryUsage:       udcInt("By", 209715200),
		rsotel.MetricContainerMemoryWorkingSet:  udcInt("By", 209715200-52428800),
		rsotel.MetricMemoryPeak:                 gaugeInt("By", 314572800),
		rsotel.MetricMemorySwapLimit:            udcInt("By", 0), // memory.swap.max 0: no swap at all, a limit
		memEvent("high"):                        ctrInt("{event}", 12),
		memEvent("max"):                         ctrInt("{event}", 3),
		memEvent("oom"):                         ctrInt("{event}", 1),
		memEvent("oom_kill"):                    ctrInt("{event}", 1),
		rsotel.MetricPIDsUsage:                  udcInt("{task}", 12),
		rsotel.MetricPIDsLimit:                  udcInt("{task}", 200),
		pressure("cpu", "some", "container"):    ctrFloat("s", 0.123456),
		pressure("cpu", "full", "container"):    ctrFloat("s", 0.065432),
		pressure("memory", "some", "container"): ctrFloat("s", 0),
		pressure("memory", "full", "container"): ctrFloat("s", 0),
		pressure("io", "some", "container"):     ctrFloat("s", 0.00001),
		pressure("io", "full", "container"):     ctrFloat("s", 0.000005),
		// Not Kubernetes: cpu.weight 100 is no request.
		info(false, "", "", "", "v2"): gaugeInt("", 1),
		rsotel.MetricMemoryHost:       udcInt("By", 8<<30),
		rsotel.MetricReadErrors:       ctrInt("{collection}", 0),
	}
	compare(t, collect(t, rd), withSignals(want))
}

// Docker on cgroup v1: no memory.high, no pressure files; CPU usage from
// cpuacct.usage in the same cgroup as the quota.
func TestV1Docker(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, math.MaxInt64)
	_, rd := register(t, rsotel.WithRoot(withProc(t, v1Docker)), rsotel.WithLogger(nil))
	got := collect(t, rd)
	compare(t, got, withSignals(map[string]point{
		rsotel.MetricGoProcessorLimit:          udcInt("{thread}", float64(runtime.GOMAXPROCS(0))),
		rsotel.MetricCPULimit:                  udcFloat("{cpu}", 1.5),
		rsotel.MetricCPULeafLimit:              udcFloat("{cpu}", 1.5), // the container's own cgroup
		rsotel.MetricCPUAllowed:                udcInt("{cpu}", 4),     // Cpus_allowed_list 0-7, cpuset 0-3
		rsotel.MetricContainerCPUTime:          ctrFloat("s", 98.7654321),
		rsotel.MetricCPUTimeOtherCgroup:        gaugeInt("", 0),
		rsotel.MetricCPUThrottlingPeriods:      ctrInt("{period}", 120),
		rsotel.MetricCPUThrottledPeriods:       ctrInt("{period}", 30),
		rsotel.MetricCPUThrottledTime:          ctrFloat("s", 4.5),
		rsotel.MetricMemoryLimit:               udcInt("By", 268435456),
		rsotel.MetricContainerMemoryUsage:      udcInt("By", 104857600),
		rsotel.MetricContainerMemoryWorkingSet: udcInt("By", 104857600-10485760),
		rsotel.MetricMemoryPeak:                gaugeInt("By", 157286400),         // memory.max_usage_in_bytes
		rsotel.MetricMemorySwapLimit:           udcInt("By", 536870912-268435456), // memsw limit minus memory limit
		memEvent("high"):                       ctrInt("{event}", 0),              // no such limit on v1
		memEvent("max"):                        ctrInt("{event}", 3),              // memory.failcnt
		memEvent("oom"):                        ctrInt("{event}", 1),              // memory.oom_control oom_kill
		memEvent("oom_kill"):                   ctrInt("{event}", 1),
		rsotel.MetricPIDsUsage:                 udcInt("{task}", 7),
		rsotel.MetricPIDsLimit:                 udcInt("{task}", 100),
		rsotel.MetricMemoryHost:                udcInt("By", 8<<30),
		info(true, "docker", "", "", "v1"):     gaugeInt("", 1),
		rsotel.MetricReadErrors:                ctrInt("{collection}", 0),
	}))
	// No GOMEMLIMIT: no go.memory.limit point, never math.MaxInt64.
	if _, ok := got[rsotel.MetricGoMemoryLimit]; ok {
		t.Errorf("%s observed without a limit", rsotel.MetricGoMemoryLimit)
	}
}

// A Burstable pod on cgroup v2 with a private cgroup namespace: the
// memory limit comes from the Downward API, the request from cpu.weight;
// pids.max says max (no pids limit point).
func TestKubernetes(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, math.MaxInt64)
	_, rd := register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil))
	compare(t, collect(t, rd), withSignals(map[string]point{
		rsotel.MetricGoProcessorLimit:                             udcInt("{thread}", float64(runtime.GOMAXPROCS(0))),
		rsotel.MetricCPULimit:                                     udcFloat("{cpu}", 1.5),
		rsotel.MetricCPULeafLimit:                                 udcFloat("{cpu}", 1.5),
		rsotel.MetricCPURequest:                                   udcFloat("{cpu}", 0.509), // cpu.weight 59
		rsotel.MetricCPUAllowed:                                   udcInt("{cpu}", 4),       // Cpus_allowed_list 0-7, cpuset 0-3
		rsotel.MetricContainerCPUTime:                             ctrFloat("s", 73.5),
		rsotel.MetricCPUTimeOtherCgroup:                           gaugeInt("", 0),
		rsotel.MetricCPUThrottlingPeriods:                         ctrInt("{period}", 9000),
		rsotel.MetricCPUThrottledPeriods:                          ctrInt("{period}", 450),
		rsotel.MetricCPUThrottledTime:                             ctrFloat("s", 12.75),
		rsotel.MetricMemoryLimit:                                  udcInt("By", 536870912), // RIGHTSIZE_MEMORY_LIMIT_BYTES
		rsotel.MetricMemoryRequest:                                udcInt("By", 268435456), // RIGHTSIZE_MEMORY_REQUEST_BYTES
		rsotel.MetricMemoryHost:                                   udcInt("By", 16364588*1024),
		rsotel.MetricContainerMemoryUsage:                         udcInt("By", 134217728),
		rsotel.MetricContainerMemoryWorkingSet:                    udcInt("By", 134217728-16777216),
		rsotel.MetricMemoryPeak:                                   gaugeInt("By", 150994944),
		memEvent("high"):                                          ctrInt("{event}", 0),
		memEvent("max"):                                           ctrInt("{event}", 0),
		memEvent("oom"):                                           ctrInt("{event}", 0),
		memEvent("oom_kill"):                                      ctrInt("{event}", 0),
		rsotel.MetricPIDsUsage:                                    udcInt("{task}", 9),
		info(true, "containerd", "kubernetes", "Burstable", "v2"): gaugeInt("", 1),
		rsotel.MetricReadErrors:                                   ctrInt("{collection}", 0),
	}))
}

// fixtureTrees lists every fixture tree of the repository the exporters
// can read: the cgroup package's, the command's, the detection fixtures,
// procfs's process tables, this module's and the Kubernetes example's.
func fixtureTrees(t *testing.T) []string {
	t.Helper()
	var roots []string
	for _, dir := range []string{cgroupData, cmdTrees, filepath.Join("..", "..", "detect", "testdata"),
		filepath.Join("..", "..", "procfs", "testdata"), "testdata"} {
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

// expected is what Register must observe for a snapshot and environment
// taken by runtimeinfo on the same tree: the mapping from the library's
// values to instruments, written out independently of the package.
func expected(s *runtimeinfo.Snapshot, r *runtimeinfo.Reader, goMetrics bool) map[string]point {
	want := map[string]point{}
	if goMetrics {
		goPoints(want)
	}
	if s.HasCPULimit {
		want[rsotel.MetricCPULimit] = udcFloat("{cpu}", s.CPULimit.CPUs)
	}
	if s.HasLeafCPULimit {
		want[rsotel.MetricCPULeafLimit] = udcFloat("{cpu}", s.LeafCPULimit.CPUs)
	}
	if s.HasCPURequest {
		want[rsotel.MetricCPURequest] = udcFloat("{cpu}", s.CPURequest.CPUs)
	}
	want[rsotel.MetricCPUAllowed] = udcInt("{cpu}", float64(s.CPUs.N))
	st := s.Stats
	if st.CPU.HasUsage {
		want[rsotel.MetricContainerCPUTime] = ctrFloat("s", st.CPU.Usage.Seconds())
		want[rsotel.MetricCPUTimeOtherCgroup] = gaugeInt("", 0)
		if s.CPUUsageElsewhere {
			want[rsotel.MetricCPUTimeOtherCgroup] = gaugeInt("", 1)
		}
	}
	if st.CPU.HasThrottling {
		want[rsotel.MetricCPUThrottlingPeriods] = ctrInt("{period}", float64(st.CPU.Throttling.Periods))
		want[rsotel.MetricCPUThrottledPeriods] = ctrInt("{period}", float64(st.CPU.Throttling.ThrottledPeriods))
		want[rsotel.MetricCPUThrottledTime] = ctrFloat("s", st.CPU.Throttling.ThrottledTime.Seconds())
	}
	for _, m := range []struct {
		name string
		has  bool
		v    int64
	}{
		{rsotel.MetricMemoryLimit, s.HasMemoryLimit, s.MemoryLimit.Bytes},
		{rsotel.MetricMemoryHigh, s.HasMemoryHigh, s.MemoryHigh.Bytes},
		{rsotel.MetricMemoryRequest, s.HasMemoryRequest, s.MemoryRequest.Bytes},
		{rsotel.MetricMemoryHost, s.HasHostMemory, s.HostMemory.Bytes},
		{rsotel.MetricContainerMemoryUsage, st.Memory.HasUsage, st.Memory.Usage},
		{rsotel.MetricContainerMemoryWorkingSet, st.Memory.HasWorkingSet, st.Memory.WorkingSet},
	} {
		if m.has {
			want[m.name] = udcInt("By", float64(m.v))
		}
	}
	if st.Memory.HasPeak {
		want[rsotel.MetricMemoryPeak] = gaugeInt("By", float64(st.Memory.Peak))
	}
	if s.HasSwapLimit {
		want[rsotel.MetricMemorySwapLimit] = udcInt("By", float64(s.SwapLimit.Bytes))
	}
	if st.Memory.HasEvents {
		want[memEvent("high")] = ctrInt("{event}", float64(st.Memory.Events.High))
		want[memEvent("max")] = ctrInt("{event}", float64(st.Memory.Events.Max))
		want[memEvent("oom")] = ctrInt("{event}", float64(st.Memory.Events.OOM))
		want[memEvent("oom_kill")] = ctrInt("{event}", float64(st.Memory.Events.OOMKill))
	}
	if st.PIDs.HasCurrent {
		want[rsotel.MetricPIDsUsage] = udcInt("{task}", float64(st.PIDs.Current))
	}
	if s.HasPIDsLimit {
		want[rsotel.MetricPIDsLimit] = udcInt("{task}", float64(s.PIDsLimit.N))
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
			want[pressure(p.name, "some", scope)] = ctrFloat("s", p.psi.Some.Total.Seconds())
			if p.psi.HasFull {
				want[pressure(p.name, "full", scope)] = ctrFloat("s", p.psi.Full.Total.Seconds())
			}
		}
	}
	pt := s.ProcessTable
	if pt.HasProcesses {
		want[rsotel.MetricPIDNamespaceProcessCount] = udcInt("{process}", float64(pt.Processes))
		want[rsotel.MetricPIDNamespaceZombieCount] = udcInt("{process}", float64(pt.Zombies))
	}
	if pt.HasChildren {
		want[rsotel.MetricProcessChildCount] = udcInt("{process}", float64(pt.Children))
		want[rsotel.MetricProcessZombieChildCount] = udcInt("{process}", float64(pt.ZombieChildren))
	}
	if pt.HasThreads {
		want[rsotel.MetricProcessThreadCount] = udcInt("{thread}", float64(pt.Threads))
	}
	if pt.HasFDs {
		want[rsotel.MetricProcessFileDescriptorCount] = udcInt("{file_descriptor}", float64(pt.FDs))
	}
	if pt.HasFDLimit && pt.FDLimit.Soft != procfs.Unlimited {
		want[rsotel.MetricProcessFileDescriptorLimit] = udcInt("{file_descriptor}", float64(pt.FDLimit.Soft))
	}
	if s.Reaper.Mode != "" { // the live process only
		active := 0.0
		if s.Reaper.Active {
			active = 1
		}
		want[keyKV(rsotel.MetricReaperActive, attribute.String(rsotel.AttrReaperMode, s.Reaper.Mode))] = gaugeInt("", active)
		want[rsotel.MetricReaperReaped] = ctrInt("{process}", float64(s.Reaper.Reaped))
	}
	withSignals(want)
	env := r.Environment()
	qos := ""
	if env.HasKubernetes {
		qos = string(env.Kubernetes.QOSClass)
	}
	want[info(env.Container, string(env.Runtime), string(env.Orchestrator), qos, string(s.Layout))] = gaugeInt("", 1)
	errs := 0.0
	for _, err := range s.Errors {
		if !errors.Is(err, cgroup.ErrNotSupported) {
			errs = 1
		}
	}
	want[rsotel.MetricReadErrors] = ctrInt("{collection}", errs)
	return want
}

// Register and runtimeinfo agree on every fixture tree: same values, same
// absences (hierarchy minimum, cpuset ∩ affinity, Downward API fallback,
// the CPU request rule, pressure scope), and a read error exactly where
// runtimeinfo reports one. With and without the go.* instruments.
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
			for _, goMetrics := range []bool{true, false} {
				opts := []rsotel.Option{rsotel.WithRoot(root), rsotel.WithLogger(nil)}
				if !goMetrics {
					opts = append(opts, rsotel.WithoutGoMetrics())
				}
				_, rd := register(t, opts...)
				compare(t, collect(t, rd), expected(&s, r, goMetrics))
			}
		})
	}
}

// The go.* and container.* names and units are the semantic conventions'.
// The Go semconv package of otel v1.35.0 stops at v1.30.0; the names and
// units checked here did not change up to 1.44.0 (container.memory.usage
// changed its instrument kind to UpDownCounter in 1.44.0, which
// TestV2Nested checks; working_set first appears in the 1.38.0 model).
func TestSemconvNames(t *testing.T) {
	for _, c := range []struct{ name, unit, wantName, wantUnit string }{
		{rsotel.MetricGoProcessorLimit, "{thread}", semconv.GoProcessorLimitName, semconv.GoProcessorLimitUnit},
		{rsotel.MetricGoMemoryLimit, "By", semconv.GoMemoryLimitName, semconv.GoMemoryLimitUnit},
		{rsotel.MetricContainerCPUTime, "s", semconv.ContainerCPUTimeName, semconv.ContainerCPUTimeUnit},
		{rsotel.MetricContainerMemoryUsage, "By", semconv.ContainerMemoryUsageName, semconv.ContainerMemoryUsageUnit},
		{rsotel.MetricProcessThreadCount, "{thread}", semconv.ProcessThreadCountName, semconv.ProcessThreadCountUnit},
	} {
		if c.name != c.wantName || c.unit != c.wantUnit {
			t.Errorf("%s %s, semconv says %s %s", c.name, c.unit, c.wantName, c.wantUnit)
		}
	}
	// process.unix.file_descriptor.count (UpDownCounter, {file_descriptor})
	// replaced process.open_file_descriptor.count (unit {count}, the name
	// semconv v1.30.0 still has) in 1.39.0.
	if rsotel.MetricProcessFileDescriptorCount != "process.unix.file_descriptor.count" ||
		semconv.ProcessOpenFileDescriptorCountName != "process.open_file_descriptor.count" {
		t.Errorf("%s; semconv v1.30.0 has %s", rsotel.MetricProcessFileDescriptorCount, semconv.ProcessOpenFileDescriptorCountName)
	}
	if rsotel.SchemaURL != "https://opentelemetry.io/schemas/1.44.0" {
		t.Errorf("SchemaURL %s", rsotel.SchemaURL)
	}
	// Every name is a valid instrument name, and under go., container. or
	// rightsize.
	for _, n := range []string{rsotel.MetricCPULimit, rsotel.MetricCPURequest, rsotel.MetricCPUAllowed,
		rsotel.MetricCPUTimeOtherCgroup, rsotel.MetricCPUThrottlingPeriods, rsotel.MetricCPUThrottledPeriods,
		rsotel.MetricCPUThrottledTime, rsotel.MetricMemoryLimit, rsotel.MetricMemoryHigh, rsotel.MetricMemoryRequest,
		rsotel.MetricMemoryHost, rsotel.MetricPIDsUsage, rsotel.MetricPIDsLimit, rsotel.MetricPressureStalledTime,
		rsotel.MetricInfo, rsotel.MetricReadErrors, rsotel.MetricContainerMemoryWorkingSet,
		rsotel.MetricPIDNamespaceProcessCount, rsotel.MetricPIDNamespaceZombieCount, rsotel.MetricProcessChildCount,
		rsotel.MetricProcessZombieChildCount, rsotel.MetricProcessFileDescriptorLimit, rsotel.MetricReaperActive,
		rsotel.MetricReaperReaped, rsotel.MetricMemoryPressureSignals, rsotel.MetricMemoryPeak, rsotel.MetricCPULeafLimit,
		rsotel.MetricMemorySwapLimit, rsotel.MetricMemoryEvents} {
		if !strings.HasPrefix(n, "rightsize.") && !strings.HasPrefix(n, "container.") {
			t.Errorf("%s: not under rightsize. or container.", n)
		}
		if len(n) > 255 {
			t.Errorf("%s: too long", n)
		}
	}
}

// WithoutGoMetrics leaves out go.processor.limit and go.memory.limit, and
// nothing else.
func TestWithoutGoMetrics(t *testing.T) {
	skipUnlessLinux(t)
	withMemoryLimit(t, 300<<20)
	_, with := register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil))
	_, without := register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil), rsotel.WithoutGoMetrics())
	a, b := collect(t, with), collect(t, without)
	for _, n := range []string{rsotel.MetricGoProcessorLimit, rsotel.MetricGoMemoryLimit} {
		if _, ok := a[n]; !ok {
			t.Errorf("%s missing by default", n)
		}
		if _, ok := b[n]; ok {
			t.Errorf("%s observed with WithoutGoMetrics", n)
		}
		delete(a, n)
	}
	compare(t, b, a)
}

// Pressure that describes the whole host has scope "host": read from
// /proc/pressure (no v2 cgroup with pressure files), or from the root of
// the v2 hierarchy (the process in no v2 cgroup of its own).
func TestPressureScope(t *testing.T) {
	skipUnlessLinux(t)
	procPressure := copyTree(t, v1Pod)
	for _, r := range []string{"cpu", "memory", "io"} {
		createFile(t, filepath.Join(procPressure, "proc/pressure", r),
			"some avg10=1.00 avg60=2.00 avg300=3.00 total=4000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=2000000\n")
	}
	for _, tc := range []struct {
		root  string
		scope string // "": no pressure
		cpu   float64
	}{
		{hostNested, "container", 0.123456},
		{v1Pod, "", 0},            // v1 only, no /proc/pressure in the tree
		{procPressure, "host", 4}, // /proc/pressure
	} {
		_, rd := register(t, rsotel.WithRoot(tc.root), rsotel.WithLogger(nil))
		got := collect(t, rd)
		var keys []string
		for k := range got {
			if strings.HasPrefix(k, rsotel.MetricPressureStalledTime) {
				keys = append(keys, k)
			}
		}
		if tc.scope == "" {
			if len(keys) > 0 {
				t.Errorf("%s: pressure %v, want none", tc.root, keys)
			}
			continue
		}
		if len(keys) != 6 {
			t.Errorf("%s: %d pressure points, want 6: %v", tc.root, len(keys), keys)
		}
		for _, k := range keys {
			if !strings.Contains(k, rsotel.AttrPressureScope+"="+tc.scope) {
				t.Errorf("%s: %s, want scope %q", tc.root, k, tc.scope)
			}
		}
		if p, ok := got[pressure("cpu", "some", tc.scope)]; !ok || math.Abs(p.value-tc.cpu) > 1e-9 {
			t.Errorf("%s: cpu some (scope %s) = %v (present %v), want %v", tc.root, tc.scope, p.value, ok, tc.cpu)
		}
	}
}

// On the live system, whatever it is (a host, a container, no cgroups at
// all): Register works in the process's own cgroup, a collection has no
// read error, the go.* values are this process's, and the values agree
// with runtimeinfo's reading of the same cgroup.
func TestLive(t *testing.T) {
	withMemoryLimit(t, 123<<20)
	_, rd := register(t)
	got := collect(t, rd)
	if v := got[rsotel.MetricGoProcessorLimit].value; v != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("%s = %v, want %d", rsotel.MetricGoProcessorLimit, v, runtime.GOMAXPROCS(0))
	}
	if v := got[rsotel.MetricGoMemoryLimit].value; v != 123<<20 {
		t.Errorf("%s = %v, want %d", rsotel.MetricGoMemoryLimit, v, 123<<20)
	}
	if n := got[rsotel.MetricCPUAllowed].value; n < 1 || n > float64(runtime.NumCPU()) {
		t.Errorf("%s = %v, want 1..%d", rsotel.MetricCPUAllowed, n, runtime.NumCPU())
	}
	if e, ok := got[rsotel.MetricReadErrors]; !ok || e.value != 0 {
		t.Errorf("%s = %v (present %v) on the live system", rsotel.MetricReadErrors, e.value, ok)
	}
	s, err := runtimeinfo.Read(runtimeinfo.WithFields(runtimeinfo.FieldAll), runtimeinfo.WithLogger(nil))
	if err != nil && !errors.Is(err, cgroup.ErrNotSupported) {
		t.Fatalf("runtimeinfo.Read: %v", err)
	}
	// Limits and counts do not move between the two reads; usage does.
	for name, v := range map[string]struct {
		has bool
		v   float64
	}{
		rsotel.MetricCPULimit:    {s.HasCPULimit, s.CPULimit.CPUs},
		rsotel.MetricMemoryLimit: {s.HasMemoryLimit, float64(s.MemoryLimit.Bytes)},
		rsotel.MetricMemoryHigh:  {s.HasMemoryHigh, float64(s.MemoryHigh.Bytes)},
		rsotel.MetricMemoryHost:  {s.HasHostMemory, float64(s.HostMemory.Bytes)},
		rsotel.MetricPIDsLimit:   {s.HasPIDsLimit, float64(s.PIDsLimit.N)},
		rsotel.MetricCPUAllowed:  {true, float64(s.CPUs.N)},
	} {
		p, ok := got[name]
		if ok != v.has || (ok && p.value != v.v) {
			t.Errorf("%s = %v (present %v), runtimeinfo: %v (present %v)", name, p.value, ok, v.v, v.has)
		}
	}
	if runtime.GOOS == "linux" && s.Layout != cgroup.LayoutNone {
		for _, name := range []string{rsotel.MetricContainerCPUTime, rsotel.MetricContainerMemoryUsage} {
			if _, ok := got[name]; !ok {
				t.Errorf("%s missing on the live system (layout %s)", name, s.Layout)
			}
		}
	}
	t.Logf("live (layout %s): %d points", s.Layout, len(got))
	for k, p := range got {
		t.Logf("  %s = %v %s", k, p.value, p.unit)
	}
}

// Concurrent collections, from several readers of one provider (the SDK
// then runs the callback concurrently) and several goroutines per reader,
// under -race; while the limits change under them.
func TestConcurrentCollections(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, k8sTree)
	rd1, rd2 := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd1), sdkmetric.WithReader(rd2))
	defer mp.Shutdown(context.Background())
	g, err := rsotel.Register(mp, rsotel.WithRoot(root), rsotel.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Unregister()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		rd := rd1
		if i%2 == 1 {
			rd = rd2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				var rm metricdata.ResourceMetrics
				if err := rd.Collect(context.Background(), &rm); err != nil {
					t.Error(err)
					return
				}
				if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) < 10 {
					t.Errorf("collection %d: %d scopes", j, len(rm.ScopeMetrics))
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := 0; j < 50; j++ {
			writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), []string{"150000 100000\n", "250000 100000\n"}[j%2])
		}
	}()
	wg.Wait()
	got := collect(t, rd1)
	if v := got[rsotel.MetricCPULimit].value; v != 1.5 && v != 2.5 {
		t.Errorf("CPU limit %v", v)
	}
	if v := got[rsotel.MetricReadErrors].value; v != 0 {
		// A read racing a rewrite may see an empty file: that is a read
		// error, counted, not a crash.
		t.Logf("%v collections with a read error while cpu.max was being rewritten", v)
	}
}

// Limits are re-read at every collection: an in-place resize shows at the
// next one.
func TestResizeSeenOnNextCollection(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, k8sTree)
	_, rd := register(t, rsotel.WithRoot(root), rsotel.WithLogger(nil))
	if v := collect(t, rd)[rsotel.MetricCPULimit].value; v != 1.5 {
		t.Fatalf("before: %v", v)
	}
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/cpu.max"), "250000 100000\n")
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/memory.max"), "1073741824\n")
	got := collect(t, rd)
	if v := got[rsotel.MetricCPULimit].value; v != 2.5 {
		t.Errorf("CPU limit after resize = %v, want 2.5", v)
	}
	if v := got[rsotel.MetricMemoryLimit].value; v != 1073741824 {
		t.Errorf("memory limit after resize = %v, want 1073741824", v)
	}
}

// A file that turns unreadable leaves its value out, counts a read error
// per collection, logs once, and the rest of the collection goes on; when
// the file is fixed the value returns and the recovery is logged.
func TestReadError(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, hostNested)
	var logs strings.Builder
	_, rd := register(t, rsotel.WithRoot(root), rsotel.WithLogger(newTextLogger(&logs)))
	if _, ok := collect(t, rd)[rsotel.MetricPIDsLimit]; !ok {
		t.Fatal("no pids limit before")
	}
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/a/memory.max"), "lots\n")
	for i := 1; i <= 3; i++ {
		got := collect(t, rd)
		if p, ok := got[rsotel.MetricMemoryLimit]; ok {
			t.Errorf("collection %d: memory limit %v from a malformed file", i, p.value)
		}
		if _, ok := got[rsotel.MetricContainerMemoryUsage]; !ok {
			t.Errorf("collection %d: memory usage missing: the other values must still be read", i)
		}
		if v := got[rsotel.MetricReadErrors].value; v != float64(i) {
			t.Errorf("collection %d: read errors %v", i, v)
		}
	}
	if n := strings.Count(logs.String(), "cannot read"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "memory.max") {
		t.Errorf("the warning does not name the file:\n%s", logs.String())
	}
	writeFile(t, filepath.Join(root, "sys/fs/cgroup/a/memory.max"), "524288000\n")
	got := collect(t, rd)
	if v := got[rsotel.MetricMemoryLimit].value; v != 524288000 {
		t.Errorf("after the fix: memory limit %v", v)
	}
	if v := got[rsotel.MetricReadErrors].value; v != 3 {
		t.Errorf("after the fix: read errors %v, want 3", v)
	}
	if !strings.Contains(logs.String(), "reads recovered") {
		t.Errorf("no recovery line:\n%s", logs.String())
	}
}

// A tree with no cgroup at all: the cgroup instruments observe nothing,
// every collection counts a read error, and the rest remains.
func TestNoCgroup(t *testing.T) {
	skipUnlessLinux(t)
	_, rd := register(t, rsotel.WithRoot(t.TempDir()), rsotel.WithLogger(nil))
	collect(t, rd)
	got := collect(t, rd)
	for _, n := range []string{rsotel.MetricCPULimit, rsotel.MetricContainerCPUTime, rsotel.MetricContainerMemoryUsage, rsotel.MetricMemoryLimit, rsotel.MetricPIDsUsage} {
		if _, ok := got[n]; ok {
			t.Errorf("%s observed without a cgroup", n)
		}
	}
	if _, ok := got[rsotel.MetricGoProcessorLimit]; !ok {
		t.Errorf("%s missing", rsotel.MetricGoProcessorLimit)
	}
	if v := got[rsotel.MetricReadErrors].value; v != 2 {
		t.Errorf("read errors %v, want 2", v)
	}
}

// After Unregister nothing is observed; Unregister twice is fine.
func TestUnregister(t *testing.T) {
	skipUnlessLinux(t)
	g, rd := register(t, rsotel.WithRoot(k8sTree), rsotel.WithLogger(nil))
	if n := len(collect(t, rd)); n < 10 {
		t.Fatalf("%d points before", n)
	}
	if err := g.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := g.Unregister(); err != nil {
		t.Fatalf("second Unregister: %v", err)
	}
	if got := collect(t, rd); len(got) != 0 {
		t.Errorf("%d points after Unregister: %v", len(got), got)
	}
}

func TestRegisterErrors(t *testing.T) {
	if _, err := rsotel.Register(nil); err == nil {
		t.Error("nil MeterProvider: no error")
	}
	// The no-op provider accepts everything and observes nothing.
	g, err := rsotel.Register(noop.NewMeterProvider(), rsotel.WithLogger(nil), nil)
	if err != nil {
		t.Fatalf("noop provider: %v", err)
	}
	if err := g.Unregister(); err != nil {
		t.Fatal(err)
	}
	var nilReg *rsotel.Registration
	if err := nilReg.Unregister(); err != nil {
		t.Errorf("nil Registration: %v", err)
	}
}

// When the process moves to another cgroup, the Reader rediscovers and the
// next collection shows the new cgroup's limits, and no longer the old
// one's.
func TestMoveFollowed(t *testing.T) {
	skipUnlessLinux(t)
	root := copyTree(t, hostNested)
	_, rd := register(t, rsotel.WithRoot(root), rsotel.WithLogger(nil))
	if v := collect(t, rd)[rsotel.MetricCPULimit].value; v != 2.5 {
		t.Fatalf("before: %v", v)
	}
	createFile(t, filepath.Join(root, "sys/fs/cgroup/c/cpu.max"), "50000 100000\n")
	writeFile(t, filepath.Join(root, "proc/self/cgroup"), "0::/c\n")
	got := collect(t, rd)
	if p, ok := got[rsotel.MetricCPULimit]; !ok || p.value != 0.5 {
		t.Errorf("CPU limit after the move = %v (present %v), want 0.5", p.value, ok)
	}
	if _, ok := got[rsotel.MetricMemoryLimit]; ok {
		t.Errorf("memory limit of the old cgroup observed after the move")
	}
}
