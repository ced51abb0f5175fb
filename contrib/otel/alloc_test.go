package otel

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// countingObserver is a metric.Observer that counts observations and
// keeps nothing, so that the callback's own allocations can be measured.
type countingObserver struct {
	embedded.Observer
	n, withAttrs int
}

func (o *countingObserver) ObserveFloat64(_ metric.Float64Observable, _ float64, opts ...metric.ObserveOption) {
	o.n++
	if len(opts) > 0 {
		o.withAttrs++
	}
}

func (o *countingObserver) ObserveInt64(_ metric.Int64Observable, _ int64, opts ...metric.ObserveOption) {
	o.n++
	if len(opts) > 0 {
		o.withAttrs++
	}
}

// allocTrees are fixture trees every read of which succeeds, and the live
// system.
func allocTrees() []string {
	trees := filepath.Join("..", "..", "cmd", "rightsize", "testdata", "trees")
	return []string{
		filepath.Join("testdata", "k8s-v2-cgroupns"),
		filepath.Join(trees, "v2-host-nested"),
		filepath.Join(trees, "k8s-v1-burstable"),
		filepath.Join(trees, "k8s-v2-guaranteed"),
		filepath.Join(trees, "hybrid-docker"),
		"/",
	}
}

// One collection's callback, which reads every value through the Reader
// and observes every instrument (attributes included), allocates nothing
// when every read succeeds.
func TestCallbackDoesNotAllocate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	for _, root := range allocTrees() {
		t.Run(root, func(t *testing.T) {
			rd := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
			defer mp.Shutdown(context.Background())
			g, err := Register(mp, WithRoot(root), WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Unregister()
			var o countingObserver
			ctx := context.Background()
			_ = g.callback(ctx, &o)
			if len(g.snap.Errors) > 0 {
				if root == "/" {
					t.Skipf("the live system has read errors: %v", g.snap.Errors)
				}
				t.Fatalf("%v", g.snap.Errors)
			}
			first := o
			n := testing.AllocsPerRun(100, func() { _ = g.callback(ctx, &o) })
			if n != 0 {
				t.Errorf("the callback allocates %v times per collection, want 0", n)
			}
			if g.readErrs != 0 {
				t.Errorf("%d read errors", g.readErrs)
			}
			t.Logf("%d observations per collection, %d with attributes; %v allocations", first.n, first.withAttrs, n)
		})
	}
}

// What a whole ManualReader.Collect allocates, measured and logged, not
// asserted: the SDK's own work (building the ResourceMetrics data points)
// is outside this package's control. The callback's share, on the SDK's
// real observer, is checked: a collection costs the same as one in which
// the callback observes nothing at all beyond the SDK's per-point output.
func TestCollectAllocations(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("cgroup readers exist on Linux only")
	}
	root := filepath.Join("testdata", "k8s-v2-cgroupns")
	ctx := context.Background()

	measure := func(register func(mp *sdkmetric.MeterProvider)) (allocs float64, points int) {
		rd := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
		defer mp.Shutdown(ctx)
		register(mp)
		var rm metricdata.ResourceMetrics
		collect := func() {
			if err := rd.Collect(ctx, &rm); err != nil {
				t.Fatal(err)
			}
		}
		collect()
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					points += len(d.DataPoints)
				case metricdata.Sum[float64]:
					points += len(d.DataPoints)
				case metricdata.Gauge[int64]:
					points += len(d.DataPoints)
				case metricdata.Gauge[float64]:
					points += len(d.DataPoints)
				}
			}
		}
		return testing.AllocsPerRun(100, collect), points
	}

	empty, _ := measure(func(*sdkmetric.MeterProvider) {})
	ours, points := measure(func(mp *sdkmetric.MeterProvider) {
		g, err := Register(mp, WithRoot(root), WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Unregister() })
	})
	// The same instruments and points, observed by a callback that reads
	// nothing and passes the same precomputed options: the SDK's cost of
	// recording and exporting those points, without this package's reads.
	var sameShape float64
	sameShape, _ = measure(func(mp *sdkmetric.MeterProvider) {
		g, err := Register(mp, WithRoot(root), WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Unregister() })
		// Read once, then replace the Reader's part with the snapshot
		// already taken: observe without reading.
		g.mu.Lock()
		g.refresh()
		g.mu.Unlock()
		g.reg.Unregister()
		reg, err := mp.Meter(ScopeName, metric.WithSchemaURL(SchemaURL)).RegisterCallback(func(_ context.Context, o metric.Observer) error {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.observe(o)
			return nil
		}, g.inst.all...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Unregister() })
	})
	t.Logf("ManualReader.Collect allocations: %v with no instruments; %v with this package (%d points); %v observing the same points without reading",
		empty, ours, points, sameShape)
	slack := 0.0
	if raceEnabled {
		slack = 2 // sync.Pool's random drops under -race (race_on_test.go)
	}
	if ours > sameShape+slack {
		t.Errorf("a collection allocates %v times, %v more than observing the same points without reading: the reads allocate", ours, ours-sameShape)
	}
}

// BenchmarkCollect measures a whole ManualReader.Collect on the Kubernetes
// fixture: this package's reads and observations, and the SDK's recording
// and output of the data points.
func BenchmarkCollect(b *testing.B) {
	ctx := context.Background()
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	defer mp.Shutdown(ctx)
	g, err := Register(mp, WithRoot(filepath.Join("testdata", "k8s-v2-cgroupns")), WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Unregister()
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := rd.Collect(ctx, &rm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallback measures the callback alone: one Read through the
// Reader and every observation.
func BenchmarkCallback(b *testing.B) {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	defer mp.Shutdown(context.Background())
	g, err := Register(mp, WithRoot(filepath.Join("testdata", "k8s-v2-cgroupns")), WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Unregister()
	var o countingObserver
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = g.callback(ctx, &o)
	}
}
