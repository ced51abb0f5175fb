package runtimeinfo

import (
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// fixture is a cgroup v2 tree in a temporary directory whose files a test
// may rewrite: /sys/fs/cgroup/pod (parent) and /sys/fs/cgroup/pod/app
// (the process's cgroup).
type fixture struct {
	t    *testing.T
	root string
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	f := &fixture{t: t, root: t.TempDir()}
	base := map[string]string{
		"proc/self/cgroup":                     "0::/pod/app\n",
		"proc/self/mountinfo":                  "20 1 0:19 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
		"proc/self/status":                     "Name:\ttest\nThreads:\t4\nCpus_allowed_list:\t0-7\n",
		"proc/meminfo":                         "MemTotal:       16384000 kB\nMemAvailable:    8000000 kB\n",
		"proc/self/environ":                    "PATH=/bin\x00",
		"sys/fs/cgroup/cgroup.controllers":     "cpuset cpu io memory pids\n",
		"sys/fs/cgroup/pod/cpu.max":            "max 100000\n",
		"sys/fs/cgroup/pod/memory.max":         "max\n",
		"sys/fs/cgroup/pod/memory.high":        "max\n",
		"sys/fs/cgroup/pod/pids.max":           "max\n",
		"sys/fs/cgroup/pod/app/cpu.max":        "150000 100000\n",
		"sys/fs/cgroup/pod/app/cpu.weight":     "100\n",
		"sys/fs/cgroup/pod/app/memory.max":     "268435456\n",
		"sys/fs/cgroup/pod/app/memory.high":    "max\n",
		"sys/fs/cgroup/pod/app/pids.max":       "max\n",
		"sys/fs/cgroup/pod/app/cpu.stat":       "usage_usec 100\nuser_usec 50\nsystem_usec 50\nnr_periods 10\nnr_throttled 2\nthrottled_usec 300\n",
		"sys/fs/cgroup/pod/app/memory.current": "1000000\n",
		"sys/fs/cgroup/pod/app/memory.stat":    "anon 500000\nfile 500000\ninactive_file 200000\n",
		"sys/fs/cgroup/pod/app/pids.current":   "3\n",
	}
	for k, v := range files {
		base[k] = v
	}
	for k, v := range base {
		if v == "-" {
			continue
		}
		f.write(k, v)
	}
	return f
}

// write rewrites a file in place (same inode, as the kernel's files are),
// so descriptors kept open see the new content.
func (f *fixture) write(name, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(name string) {
	f.t.Helper()
	if err := os.RemoveAll(filepath.Join(f.root, name)); err != nil {
		f.t.Fatal(err)
	}
}

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

// withMode fixes the runtime mode for a test.
func withMode(version, defaultGODEBUG string) Option {
	return optionFunc(func(c *config) {
		c.goVersion = version
		c.defaultGODEBUG = &defaultGODEBUG
	})
}

// saveRuntime restores GOMAXPROCS, GOMEMLIMIT and rightsize's ownership
// record after the test.
func saveRuntime(t *testing.T) {
	t.Helper()
	procs := runtime.GOMAXPROCS(0)
	mem := debug.SetMemoryLimit(-1)
	resetOwner()
	t.Cleanup(func() {
		if runtime.GOMAXPROCS(0) != procs {
			runtime.GOMAXPROCS(procs)
		}
		debug.SetMemoryLimit(mem)
		resetOwner()
	})
}

func resetOwner() {
	owner.mu.Lock()
	owner.procs, owner.procsOff, owner.mem, owner.memOrig, owner.memOff = 0, false, 0, 0, false
	owner.mu.Unlock()
}

func noMemLimit() { debug.SetMemoryLimit(math.MaxInt64) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
