package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
	"github.com/rightsize/rightsize/procfs"
	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

const manifestFile = "deployment.yaml"

// podFixture is what the manifest's container sees on a cgroup v2 node with
// a private cgroup namespace: its cgroup files, environ and status.
var podFixture = filepath.Join("testdata", "pod")

type manifest struct {
	deploy  *appsv1.Deployment
	pdb     *policyv1.PodDisruptionBudget
	service *corev1.Service
}

// load parses every document of the manifest strictly into the API types
// of its kind: an unknown or misspelt field, or a value of the wrong type,
// fails the test, as kubectl apply --validate=strict would.
func load(t *testing.T) manifest {
	t.Helper()
	data, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	for i, doc := range splitDocuments(data) {
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var into any
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			if m.deploy != nil {
				t.Fatal("two Deployments")
			}
			m.deploy = new(appsv1.Deployment)
			into = m.deploy
		case "policy/v1 PodDisruptionBudget":
			if m.pdb != nil {
				t.Fatal("two PodDisruptionBudgets")
			}
			m.pdb = new(policyv1.PodDisruptionBudget)
			into = m.pdb
		case "v1 Service":
			if m.service != nil {
				t.Fatal("two Services")
			}
			m.service = new(corev1.Service)
			into = m.service
		default:
			t.Fatalf("document %d: unexpected %s %s", i, tm.APIVersion, tm.Kind)
		}
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			t.Fatalf("document %d (%s): %v", i, tm.Kind, err)
		}
	}
	if m.deploy == nil || m.pdb == nil || m.service == nil {
		t.Fatalf("want a Deployment, a PodDisruptionBudget and a Service; got %+v", m)
	}
	return m
}

// splitDocuments splits a YAML stream on "---" lines, dropping documents
// that hold only comments.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---\n")) {
		for _, line := range strings.Split(string(d), "\n") {
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				docs = append(docs, d)
				break
			}
		}
	}
	return docs
}

func appContainer(t *testing.T, d *appsv1.Deployment) *corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want 1", len(cs))
	}
	return &cs[0]
}

func TestDeploymentResources(t *testing.T) {
	c := appContainer(t, load(t).deploy)
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		r, okr := req[name]
		l, okl := lim[name]
		if !okr || !okl {
			t.Errorf("%s: request and limit both needed (request %v, limit %v)", name, okr, okl)
			continue
		}
		if r.Cmp(l) > 0 {
			t.Errorf("%s: request %s above limit %s", name, r.String(), l.String())
		}
	}
	// Requests below limits: Burstable, as the fixture's oom_score_adj says.
	if req.Cpu().Cmp(*lim.Cpu()) == 0 && req.Memory().Cmp(*lim.Memory()) == 0 {
		t.Error("requests equal limits: Guaranteed, but the fixture and README describe a Burstable pod")
	}
}

// The Downward API variables rightsize reads, with the divisors that make
// their values plain integers in the units rightsize expects.
func TestDownwardAPIEnv(t *testing.T) {
	c := appContainer(t, load(t).deploy)
	want := map[string]struct {
		resource string
		divisor  string
	}{
		runtimeinfo.EnvCPULimitMillis:     {"limits.cpu", "1m"},
		runtimeinfo.EnvCPURequestMillis:   {"requests.cpu", "1m"},
		runtimeinfo.EnvMemoryLimitBytes:   {"limits.memory", "1"},
		runtimeinfo.EnvMemoryRequestBytes: {"requests.memory", "1"},
	}
	seen := map[string]bool{}
	for _, e := range c.Env {
		switch e.Name {
		case "GOMAXPROCS", "GOMEMLIMIT":
			t.Errorf("%s is set: an explicit value wins over rightsize", e.Name)
			continue
		case "RIGHTSIZE":
			t.Errorf("RIGHTSIZE=%q set: the blank import must stay on", e.Value)
			continue
		}
		w, ok := want[e.Name]
		if !ok {
			continue
		}
		seen[e.Name] = true
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil {
			t.Errorf("%s: want valueFrom.resourceFieldRef", e.Name)
			continue
		}
		ref := e.ValueFrom.ResourceFieldRef
		if ref.Resource != w.resource {
			t.Errorf("%s: resource %q, want %q", e.Name, ref.Resource, w.resource)
		}
		if ref.ContainerName != "" && ref.ContainerName != c.Name {
			t.Errorf("%s: containerName %q is another container's", e.Name, ref.ContainerName)
		}
		if ref.Divisor.Cmp(resource.MustParse(w.divisor)) != 0 {
			t.Errorf("%s: divisor %s, want %s", e.Name, ref.Divisor.String(), w.divisor)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s missing", name)
		}
	}
}

// downward computes what the kubelet puts in a resourceFieldRef variable:
// ceil(quantity / divisor).
func downward(q, divisor resource.Quantity) int64 {
	n := q.AsApproximateFloat64() / divisor.AsApproximateFloat64()
	i := int64(n)
	if float64(i) < n {
		i++
	}
	return i
}

// The fixture is what this manifest gives the container: its environ holds
// the Downward API values of the manifest, its cgroup the limits; what
// rightsize reads from it, and the GOMAXPROCS and GOMEMLIMIT it sets, are
// those the README shows.
func TestFixtureMatchesManifest(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	c := appContainer(t, load(t).deploy)
	env, err := procfs.NewFS(podFixture).Environ("self")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Env {
		ref := e.ValueFrom
		if ref == nil || ref.ResourceFieldRef == nil {
			continue
		}
		r := ref.ResourceFieldRef
		var q resource.Quantity
		switch r.Resource {
		case "limits.cpu":
			q = *c.Resources.Limits.Cpu()
		case "requests.cpu":
			q = *c.Resources.Requests.Cpu()
		case "limits.memory":
			q = *c.Resources.Limits.Memory()
		case "requests.memory":
			q = *c.Resources.Requests.Memory()
		}
		want := strconv.FormatInt(downward(q, r.Divisor), 10)
		if got, _ := procfs.Getenv(env, e.Name); got != want {
			t.Errorf("fixture %s=%q, manifest gives %s", e.Name, got, want)
		}
	}

	res, err := runtimeinfo.Recommend(runtimeinfo.WithRoot(podFixture), runtimeinfo.WithFields(runtimeinfo.FieldAll))
	if err != nil {
		t.Fatal(err)
	}
	snap := res.Snapshot
	limCPU := c.Resources.Limits.Cpu().MilliValue()
	if !snap.HasCPULimit || snap.CPULimit.MilliCPU() != limCPU || snap.CPULimit.Source.Kind != runtimeinfo.SourceCgroup {
		t.Errorf("CPU limit %+v, want %dm from the cgroup", snap.CPULimit, limCPU)
	}
	limMem := c.Resources.Limits.Memory().Value()
	if !snap.HasMemoryLimit || snap.MemoryLimit.Bytes != limMem || snap.MemoryLimit.Source.Kind != runtimeinfo.SourceCgroup {
		t.Errorf("memory limit %+v, want %d from the cgroup", snap.MemoryLimit, limMem)
	}
	// In Kubernetes the request is the kubelet's cpu.weight, which carries
	// it only approximately (shares -> weight).
	reqCPU := c.Resources.Requests.Cpu().MilliValue()
	if m := snap.CPURequest.MilliCPU(); !snap.HasCPURequest || !snap.CPURequest.Approx || m < reqCPU*95/100 || m > reqCPU*105/100 {
		t.Errorf("CPU request %+v, want about %dm", snap.CPURequest, reqCPU)
	}
	reqMem := c.Resources.Requests.Memory().Value()
	if !snap.HasMemoryRequest || snap.MemoryRequest.Bytes != reqMem {
		t.Errorf("memory request %+v, want %d", snap.MemoryRequest, reqMem)
	}

	// What rightsize sets for this pod with the defaults.
	if !res.GOMAXPROCS.HasWant || !res.GOMEMLIMIT.HasWant {
		t.Fatalf("no decision: %+v, %+v", res.GOMAXPROCS, res.GOMEMLIMIT)
	}
	procs, memlimit := res.GOMAXPROCS.Want, res.GOMEMLIMIT.Want
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"GOMAXPROCS " + strconv.FormatInt(procs, 10),
		"rightsize_gomaxprocs " + strconv.FormatInt(procs, 10),
		"rightsize_gomemlimit_bytes " + strconv.FormatFloat(float64(memlimit), 'g', -1, 64),
	} {
		if !strings.Contains(string(readme), s) {
			t.Errorf("README.md does not show %q (what rightsize sets for this manifest)", s)
		}
	}
}

// Probes are HTTP GETs on paths the service serves, on a port it listens
// on; none is an exec probe.
func TestProbes(t *testing.T) {
	m := load(t)
	c := appContainer(t, m.deploy)
	s, err := newServer(rsprom.WithRoot(podFixture), rsprom.WithLogger(nil))
	if err != nil && runtime.GOOS == "linux" {
		t.Fatal(err)
	}
	defer s.close()
	h := s.handler()
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"livenessProbe", c.LivenessProbe, pathLiveness},
		{"readinessProbe", c.ReadinessProbe, pathReadiness},
		{"startupProbe", c.StartupProbe, ""},
	} {
		if p.probe == nil {
			if p.path != "" {
				t.Errorf("%s missing", p.name)
			}
			continue
		}
		if p.probe.Exec != nil {
			t.Errorf("%s is an exec probe", p.name)
		}
		g := p.probe.HTTPGet
		if g == nil {
			t.Errorf("%s: want httpGet", p.name)
			continue
		}
		if p.path != "" && g.Path != p.path {
			t.Errorf("%s: path %q, want %q", p.name, g.Path, p.path)
		}
		if !portOf(c, g.Port) {
			t.Errorf("%s: port %s is not a container port", p.name, g.Port.String())
		}
		if p.probe.TimeoutSeconds > 0 && p.probe.PeriodSeconds > 0 && p.probe.TimeoutSeconds > p.probe.PeriodSeconds {
			t.Errorf("%s: timeout above period", p.name)
		}
		if code := get(t, h, g.Path); code != http.StatusOK {
			t.Errorf("%s: GET %s = %d", p.name, g.Path, code)
		}
	}
	// Draining: readiness fails, liveness does not.
	s.ready.Store(false)
	if code := get(t, h, pathReadiness); code != http.StatusServiceUnavailable {
		t.Errorf("draining: GET %s = %d, want 503", pathReadiness, code)
	}
	if code := get(t, h, pathLiveness); code != http.StatusOK {
		t.Errorf("draining: GET %s = %d, want 200", pathLiveness, code)
	}
}

func portOf(c *corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return true
		}
	}
	return false
}

func get(t *testing.T, h http.Handler, path string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

// The scrape annotations point at the metrics the service serves, and on
// the pod's fixture they carry the manifest's limits.
func TestMetricsScrape(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	m := load(t)
	c := appContainer(t, m.deploy)
	ann := m.deploy.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != pathMetrics {
		t.Errorf("scrape annotations %v, want scrape true, path %s", ann, pathMetrics)
	}
	port, err := strconv.Atoi(ann["prometheus.io/port"])
	if err != nil || !portOf(c, intstr.FromInt32(int32(port))) {
		t.Errorf("prometheus.io/port %q is not a container port", ann["prometheus.io/port"])
	}
	s, err := newServer(rsprom.WithRoot(podFixture), rsprom.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	rec := httptest.NewRecorder()
	s.handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pathMetrics, nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"rightsize_cpu_limit_cores " + strconv.FormatFloat(c.Resources.Limits.Cpu().AsApproximateFloat64(), 'g', -1, 64),
		"rightsize_memory_limit_bytes " + strconv.FormatFloat(float64(c.Resources.Limits.Memory().Value()), 'g', -1, 64),
		"rightsize_memory_request_bytes " + strconv.FormatFloat(float64(c.Resources.Requests.Memory().Value()), 'g', -1, 64),
		`qos_class="Burstable"`,
		`orchestrator="kubernetes"`,
		"go_goroutines ",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

// The PodDisruptionBudget covers the Deployment's pods and lets a drain
// evict one of them; the Deployment's and Service's selectors match too.
func TestSelectorsAndDisruptionBudget(t *testing.T) {
	m := load(t)
	labels := m.deploy.Spec.Template.Labels
	matches := func(what string, sel map[string]string) {
		if len(sel) == 0 {
			t.Errorf("%s: empty selector", what)
		}
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod labels %v", what, k, v, labels)
			}
		}
	}
	matches("Deployment", m.deploy.Spec.Selector.MatchLabels)
	matches("PodDisruptionBudget", m.pdb.Spec.Selector.MatchLabels)
	matches("Service", m.service.Spec.Selector)
	if len(m.pdb.Spec.Selector.MatchExpressions) > 0 {
		t.Error("PodDisruptionBudget: matchExpressions are not checked here")
	}

	replicas := int32(1)
	if m.deploy.Spec.Replicas != nil {
		replicas = *m.deploy.Spec.Replicas
	}
	spec := m.pdb.Spec
	switch {
	case spec.MinAvailable != nil && spec.MaxUnavailable != nil:
		t.Error("PodDisruptionBudget: minAvailable and maxUnavailable are exclusive")
	case spec.MaxUnavailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(replicas), true)
		if err != nil || n < 1 {
			t.Errorf("maxUnavailable %s allows no eviction (%v)", spec.MaxUnavailable.String(), err)
		}
	case spec.MinAvailable != nil:
		n, err := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(replicas), true)
		if err != nil || n >= int(replicas) {
			t.Errorf("minAvailable %s with %d replicas blocks every drain (%v)", spec.MinAvailable.String(), replicas, err)
		}
	default:
		t.Error("PodDisruptionBudget: neither minAvailable nor maxUnavailable")
	}
	if replicas < 2 {
		t.Errorf("%d replica: any eviction is an outage", replicas)
	}

	c := appContainer(t, m.deploy)
	for _, p := range m.service.Spec.Ports {
		if !portOf(c, p.TargetPort) {
			t.Errorf("Service port %s: targetPort %s is not a container port", p.Name, p.TargetPort.String())
		}
	}
}

var runs atomic.Int64

// The two exporters the service serves agree on the pod's fixture: the
// Prometheus collector's samples and the expvar JSON carry the same values.
func TestExportersAgree(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	// A name of its own per run (-count=N runs in one process; expvar has
	// no unpublish).
	name := "rightsize_pod_fixture_" + strconv.FormatInt(runs.Add(1), 10)
	if err := rightsizeexpvar.Publish(name, runtimeinfo.WithRoot(podFixture)); err != nil {
		t.Fatal(err)
	}
	s, err := newServer(rsprom.WithRoot(podFixture), rsprom.WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	h := s.handler()
	body := func(path string) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		b, _ := io.ReadAll(rec.Body)
		return b
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body(pathVars), &all); err != nil {
		t.Fatal(err)
	}
	var vars rightsizeexpvar.Vars
	if err := json.Unmarshal(all[name], &vars); err != nil {
		t.Fatal(err)
	}
	v := vars.Snapshot
	if v.CPULimit == nil || v.CPURequest == nil || v.MemoryLimit == nil || v.MemoryRequest == nil || v.Usage.Pressure.CPU == nil {
		t.Fatalf("expvar snapshot lacks values: %+v", v)
	}
	metrics := body(pathMetrics)
	for _, want := range []string{
		"rightsize_cpu_limit_cores " + strconv.FormatFloat(v.CPULimit.Cores, 'g', -1, 64),
		"rightsize_cpu_request_cores " + strconv.FormatFloat(v.CPURequest.Cores, 'g', -1, 64),
		"rightsize_cpus_allowed " + strconv.FormatInt(v.CPUs.Count, 10),
		"rightsize_memory_limit_bytes " + strconv.FormatFloat(float64(v.MemoryLimit.Bytes), 'g', -1, 64),
		"rightsize_memory_request_bytes " + strconv.FormatFloat(float64(v.MemoryRequest.Bytes), 'g', -1, 64),
		`rightsize_pressure_stalled_seconds_total{kind="some",resource="cpu",scope="` + v.Usage.Pressure.Scope + `"} ` +
			strconv.FormatFloat(v.Usage.Pressure.CPU.Some.TotalSeconds, 'g', -1, 64),
		`qos_class="` + vars.Environment.Kubernetes.QOSClass + `"`,
	} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics has no %q (the expvar value)", want)
		}
	}
}
