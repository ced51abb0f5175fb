package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// V2OnlyReason is the skip reason of a real cgroup v1 test (the runc
// harness's, package cgroup's) on a host whose cpu, memory and pids
// controllers are all on cgroup v2, as on most current distributions.
// Those tests assert v1 paths (/sys/fs/cgroup/cpu/...) and write v1 files
// (cpu.cfs_quota_us, memory.limit_in_bytes), so there they skip, or fail
// when the run requires them (see SkipOrFail); their v2 counterparts run in
// the qemu guest.
const V2OnlyReason = "needs cgroup v1 controllers (this host is cgroup v2 only)"

// v1Needed are the controllers whose v1 files the real tests write.
var v1Needed = []string{"cpu", "memory", "pids"}

// CgroupV1Missing reports why this process cannot see the cgroup v1
// hierarchies of the cpu, memory and pids controllers, or "" when it can
// (mounted in its mount namespace; whether it may write them is the
// caller's question). The answer comes from /proc/self/mountinfo alone, so
// it needs no privileges: a contributor on a cgroup v2 laptop gets
// V2OnlyReason whether or not the tests run as root.
func CgroupV1Missing() string {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Sprintf("needs cgroup v1 controllers (cannot read the mount table: %v)", err)
	}
	return cgroupV1Missing(mi)
}

// cgroupV1Missing is CgroupV1Missing on the given mountinfo.
func cgroupV1Missing(mountinfo []byte) string {
	onV1 := map[string]bool{}
	v2 := false
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		_, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f := strings.Fields(post)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "cgroup2":
			v2 = true
		case "cgroup":
			// The super options hold the controllers among flags
			// (rw, noprefix, ...); only the names asked about matter.
			for _, o := range strings.Split(f[2], ",") {
				onV1[o] = true
			}
		}
	}
	var missing []string
	for _, c := range v1Needed {
		if !onV1[c] {
			missing = append(missing, c)
		}
	}
	switch {
	case len(missing) == 0:
		return ""
	case len(missing) == len(v1Needed) && v2:
		return V2OnlyReason
	case len(missing) == len(v1Needed):
		return "needs cgroup v1 controllers (no cgroup filesystem is mounted here)"
	default:
		sort.Strings(missing)
		return fmt.Sprintf("needs cgroup v1 controllers (%s not on a v1 hierarchy here)", strings.Join(missing, ", "))
	}
}
