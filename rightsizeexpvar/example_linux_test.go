package rightsizeexpvar_test

import (
	"fmt"

	"github.com/rightsize/rightsize/rightsizeexpvar"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// Read returns the same value for a program's own use (a log line at
// start, a status page); runtimeinfo options such as WithRoot apply. Here a
// captured cgroup v2 host whose parent cgroup /a is tighter than the
// process's own /a/b.
func ExampleRead() {
	v := rightsizeexpvar.Read(runtimeinfo.WithRoot("../cmd/rightsize/testdata/trees/v2-host-nested"))
	s := v.Snapshot
	fmt.Println("layout:", s.CgroupLayout)
	fmt.Println("cpu limit:", s.CPULimit.Cores, "from", s.CPULimit.Source.Path)
	fmt.Println("cpus:", s.CPUs.Count, "from", s.CPUs.Source.Path)
	fmt.Println("memory limit:", s.MemoryLimit.Bytes, "from", s.MemoryLimit.Source.Path)
	fmt.Println("cpu request:", s.CPURequest) // not Kubernetes: a cgroup weight is no request
	t := s.Usage.CPU.Throttling
	fmt.Println("throttled periods:", t.ThrottledPeriods, "of", t.Periods)
	fmt.Println("pressure:", s.Usage.Pressure.Scope, s.Usage.Pressure.CPU.Some.Avg10)
	fmt.Println("in a container:", v.Environment.Container)
	fmt.Println("errors:", len(s.Errors))
	// Output:
	// layout: v2
	// cpu limit: 2.5 from /sys/fs/cgroup/a/cpu.max
	// cpus: 4 from /sys/fs/cgroup/a/b/cpuset.cpus.effective
	// memory limit: 524288000 from /sys/fs/cgroup/a/memory.max
	// cpu request: <nil>
	// throttled periods: 5 of 50
	// pressure: container 1.5
	// in a container: false
	// errors: 0
}
