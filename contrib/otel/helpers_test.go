package otel_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	rsotel "github.com/rightsize/rightsize/contrib/otel"
)

// Fixture trees.
var (
	k8sTree    = filepath.Join("testdata", "k8s-v2-cgroupns")
	cmdTrees   = filepath.Join("..", "..", "cmd", "rightsize", "testdata", "trees")
	cgroupData = filepath.Join("..", "..", "cgroup", "testdata")
	hostNested = filepath.Join(cmdTrees, "v2-host-nested")
	v1Pod      = filepath.Join(cmdTrees, "k8s-v1-burstable")
	v2Pod      = filepath.Join(cmdTrees, "k8s-v2-guaranteed")
	hybrid     = filepath.Join(cmdTrees, "hybrid-docker")
	v2Nested   = filepath.Join(cgroupData, "v2-nested")
	v1Docker   = filepath.Join(cgroupData, "v1-docker")
	// The Kubernetes fixture with a process table: the service is PID 1
	// of the pod, with 9 threads, 5 descriptors of RLIMIT_NOFILE 1024
	// (hard 4096); 4 processes in the PID namespace, 2 of them zombies;
	// 2 children (a zombie "sleep" and a "sh" whose zombie child "probe"
	// is not its parent's to reap). The same as contrib/prometheus's.
	pid1Tree = filepath.Join("testdata", "k8s-v2-pid1")
)

func skipUnlessLinux(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
}

// point is one collected data point: the instrument kind as the SDK
// reports it, its unit and its value.
type point struct {
	kind  string // "counter" (monotonic sum), "updowncounter" (non-monotonic sum) or "gauge"
	unit  string
	value float64
	float bool // a float64 instrument
}

// key names one data point: the metric name, then its attributes (sorted
// by key, as an attribute.Set holds them) as name{k=v,k=v}.
func key(name string, set attribute.Set) string {
	if set.Len() == 0 {
		return name
	}
	var kv []string
	for it := set.Iter(); it.Next(); {
		a := it.Attribute()
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

func keyKV(name string, kv ...attribute.KeyValue) string {
	return key(name, attribute.NewSet(kv...))
}

// newProvider returns a meter provider with a ManualReader.
func newProvider(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	t.Helper()
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, rd
}

// register registers on a new provider and returns its reader.
func register(t testing.TB, opts ...rsotel.Option) (*rsotel.Registration, *sdkmetric.ManualReader) {
	t.Helper()
	mp, rd := newProvider(t)
	g, err := rsotel.Register(mp, opts...)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	t.Cleanup(func() { _ = g.Unregister() })
	return g, rd
}

// collect collects rd and returns the data points of this package's scope
// by key. It fails on a point seen twice, on a scope other than ScopeName
// or a schema other than SchemaURL, and on a cumulative temporality
// missing.
func collect(t testing.TB, rd *sdkmetric.ManualReader) map[string]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	got := map[string]point{}
	add := func(name string, set attribute.Set, p point) {
		k := key(name, set)
		if _, dup := got[k]; dup {
			t.Fatalf("%s twice", k)
		}
		got[k] = p
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != rsotel.ScopeName || sm.Scope.SchemaURL != rsotel.SchemaURL {
			t.Fatalf("scope %q schema %q, want %q %q", sm.Scope.Name, sm.Scope.SchemaURL, rsotel.ScopeName, rsotel.SchemaURL)
		}
		for _, m := range sm.Metrics {
			sumKind := func(mono bool, temp metricdata.Temporality) string {
				if temp != metricdata.CumulativeTemporality {
					t.Errorf("%s: temporality %v", m.Name, temp)
				}
				if mono {
					return "counter"
				}
				return "updowncounter"
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes, point{sumKind(d.IsMonotonic, d.Temporality), m.Unit, float64(dp.Value), false})
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes, point{sumKind(d.IsMonotonic, d.Temporality), m.Unit, dp.Value, true})
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes, point{"gauge", m.Unit, float64(dp.Value), false})
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					add(m.Name, dp.Attributes, point{"gauge", m.Unit, dp.Value, true})
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return got
}

// compare checks got against want: every wanted point present with its
// kind, unit and value, and nothing else.
func compare(t *testing.T, got, want map[string]point) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := want[k]
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: missing", k)
			continue
		}
		if g.kind != w.kind || g.unit != w.unit || g.float != w.float {
			t.Errorf("%s: %s %q float=%v, want %s %q float=%v", k, g.kind, g.unit, g.float, w.kind, w.unit, w.float)
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

// copyTree copies a fixture tree into a temporary directory that a test
// may change; symbolic links are copied as links.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if d.Type()&fs.ModeSymlink != 0 { // proc/self -> 1, proc/1/fd/*
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, filepath.Join(dst, rel))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeFile replaces a file's content in place (same inode, as the kernel
// updates a cgroup file), so that a kept descriptor sees the change.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// createFile creates a file and its directories.
func createFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}

// removeFile removes a file of a copied tree.
func removeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
