package prometheus_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	rsprom "github.com/rightsize/rightsize/contrib/prometheus"
)

// WithRoot reads a fixture tree or a captured system instead of "/": here a
// Burstable pod on cgroup v2 with a private cgroup namespace, whose memory
// limit is visible only through the Downward API variable in its environ.
func ExampleWithRoot() {
	c, err := rsprom.NewCollector(rsprom.WithRoot("testdata/k8s-v2-cgroupns"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch mf.GetName() {
		case rsprom.MetricCPULimit, rsprom.MetricCPUsAllowed, rsprom.MetricMemoryLimit, rsprom.MetricMemoryWorkingSet:
			fmt.Println(mf.GetName(), m.GetGauge().GetValue())
		case rsprom.MetricCPUThrottledPeriods, rsprom.MetricCPUPeriods:
			fmt.Println(mf.GetName(), m.GetCounter().GetValue())
		case rsprom.MetricInfo:
			fmt.Print(mf.GetName())
			for _, l := range m.GetLabel() {
				fmt.Printf(" %s=%q", l.GetName(), l.GetValue())
			}
			fmt.Println()
		}
	}
	// Output:
	// rightsize_cpu_limit_cores 1.5
	// rightsize_cpu_periods_total 9000
	// rightsize_cpu_throttled_periods_total 450
	// rightsize_cpus_allowed 4
	// rightsize_info cgroup_layout="v2" container="true" orchestrator="kubernetes" qos_class="Burstable" runtime="containerd"
	// rightsize_memory_limit_bytes 5.36870912e+08
	// rightsize_memory_working_set_bytes 1.17440512e+08
}
