package otel_test

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	rsotel "github.com/rightsize/rightsize/contrib/otel"
)

// Register on the program's MeterProvider; every collection re-reads the
// container's limits, usage and throttling. Here the provider has a
// ManualReader (a program has a PeriodicReader with an OTLP or Prometheus
// exporter), and WithRoot reads a captured tree instead of "/": a
// Burstable pod on cgroup v2 whose memory limit is visible only through
// the Downward API variable in its environment.
func ExampleRegister() {
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	defer mp.Shutdown(context.Background())

	reg, err := rsotel.Register(mp, rsotel.WithRoot("testdata/k8s-v2-cgroupns"))
	if err != nil {
		log.Print(err)
		return
	}
	defer reg.Unregister()

	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		log.Print(err)
		return
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s %v %s", m.Name, dp.Value, m.Unit))
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s %v %s", m.Name, dp.Value, m.Unit))
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					var attrs []string
					for _, kv := range dp.Attributes.ToSlice() {
						attrs = append(attrs, string(kv.Key)+"="+kv.Value.Emit())
					}
					lines = append(lines, fmt.Sprintf("%s %v %s", m.Name, dp.Value, strings.Join(attrs, " ")))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		switch strings.Fields(l)[0] {
		case rsotel.MetricContainerCPUTime, rsotel.MetricContainerMemoryWorkingSet,
			rsotel.MetricCPULimit, rsotel.MetricCPUThrottledPeriods, rsotel.MetricCPUThrottlingPeriods,
			rsotel.MetricMemoryLimit, rsotel.MetricInfo:
			fmt.Println(l)
		}
	}
	// Output:
	// container.cpu.time 73.5 s
	// container.memory.working_set 117440512 By
	// rightsize.cpu.limit 1.5 {cpu}
	// rightsize.cpu.throttling.periods 9000 {period}
	// rightsize.cpu.throttling.throttled_periods 450 {period}
	// rightsize.info 1 rightsize.cgroup.layout=v2 rightsize.container.runtime=containerd rightsize.containerized=true rightsize.k8s.qos_class=Burstable rightsize.orchestrator=kubernetes
	// rightsize.memory.limit 536870912 By
}
