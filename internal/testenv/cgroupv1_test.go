package testenv

import "testing"

func TestCgroupV1Missing(t *testing.T) {
	const (
		v2     = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		tmpfs  = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		cpu    = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		memory = "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		pids   = "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
		named  = "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
		hybrid = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	)
	for _, tc := range []struct {
		name, mountinfo, want string
	}{
		{"v1", tmpfs + cpu + memory + pids + named, ""},
		{"hybrid", tmpfs + cpu + memory + pids + named + hybrid, ""},
		{"v2 only", v2, V2OnlyReason},
		{"v2 with a named v1 hierarchy", tmpfs + named + hybrid, V2OnlyReason},
		{"none", "22 1 0:21 / / rw - ext4 /dev/sda1 rw\n", "needs cgroup v1 controllers (no cgroup filesystem is mounted here)"},
		{"pids on v2", tmpfs + cpu + memory + hybrid, "needs cgroup v1 controllers (pids not on a v1 hierarchy here)"},
		{"garbage", "no separator\n - \n" + v2, V2OnlyReason},
	} {
		if got := cgroupV1Missing([]byte(tc.mountinfo)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
