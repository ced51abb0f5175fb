package rightsizeexpvar_test

import (
	"fmt"

	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Read returns the same value for a program's own use (a log line at
// start, a status page); runtimeinfo options such as WithRoot apply.
func ExampleRead() {
	v := rightsizeexpvar.Read(runtimeinfo.WithRoot("../cgroup/testdata/v2-nested"))
	s := v.Snapshot
	fmt.Println("layout:", s.Layout)
	fmt.Println("cpu limit:", s.CPULimit.CPUs, "from", s.CPULimit.Source.Raw)
	fmt.Println("memory limit:", s.MemoryLimit.Bytes)
	fmt.Println("throttled periods:", s.Stats.CPU.Throttling.ThrottledPeriods, "of", s.Stats.CPU.Throttling.Periods)
	fmt.Println("in a container:", v.Environment.Container)
	// Output:
	// layout: v2
	// cpu limit: 2 from 200000 100000
	// memory limit: 524288000
	// throttled periods: 5 of 50
	// in a container: false
}
