//go:build linux

package runc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/runc"
)

// probe builds testdata/probe once per test; the go build cache makes the
// repeats cheap.
func probe(t *testing.T) string {
	t.Helper()
	runc.Require(t)
	return runc.BuildStatic(t, "./testdata/probe")
}

// parsed is the probe's output split into its sections.
type parsed struct {
	cgroup    []string          // /proc/self/cgroup lines
	mounts    []string          // cgroup lines of mountinfo
	allMounts []string          // every mountinfo line, with -mountinfo
	files     map[string]string // -cat: name -> first line
	values    map[string]string
}

func parse(t *testing.T, out string) parsed {
	t.Helper()
	p := parsed{files: map[string]string{}, values: map[string]string{}}
	section := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
			continue
		}
		if line == "" {
			continue
		}
		switch section {
		case "/proc/self/cgroup":
			p.cgroup = append(p.cgroup, line)
		case "mountinfo cgroup":
			p.mounts = append(p.mounts, line)
		case "mountinfo":
			p.allMounts = append(p.allMounts, line)
		case "files":
			k, v, _ := strings.Cut(line, ": ")
			p.files[k] = v
		case "values":
			k, v, _ := strings.Cut(line, "=")
			p.values[k] = v
		}
	}
	if len(p.values) == 0 {
		t.Fatalf("probe printed no values:\n%s", out)
	}
	return p
}

// cgroupLine returns the path of the /proc/self/cgroup line for a v1
// controller.
func (p parsed) cgroupLine(controller string) string {
	for _, l := range p.cgroup {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 {
			for _, c := range strings.Split(parts[1], ",") {
				if c == controller {
					return parts[2]
				}
			}
		}
	}
	return ""
}

// mountRoot returns the mountinfo root (field 4) of the mount at point.
func mountRoot(lines []string, point string) string {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == point {
			return f[3]
		}
	}
	return ""
}

func want(t *testing.T, p parsed, key, value string) {
	t.Helper()
	if got := p.values[key]; got != value {
		t.Errorf("%s = %q, want %q", key, got, value)
	}
}

// show logs what the container saw; `go test -v -run TestSmoke` prints it
// for fixtures.
func show(t *testing.T, res runc.Result, p parsed) {
	t.Helper()
	t.Logf("container %s: runc run %v, exit %d\n/proc/self/cgroup:\n  %s\nmountinfo (cgroup):\n  %s",
		res.ID, res.Duration.Round(time.Millisecond), res.ExitCode,
		strings.Join(p.cgroup, "\n  "), strings.Join(p.mounts, "\n  "))
	keys := make([]string, 0, len(p.values))
	for k := range p.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+p.values[k])
	}
	t.Logf("values: %s", strings.Join(kv, " "))
	if len(p.allMounts) > 0 {
		t.Logf("mountinfo (all):\n  %s", strings.Join(p.allMounts, "\n  "))
	}
}

// hostDirs returns the host directories a cgroup path has in every
// hierarchy (runc uses the unified one of a hybrid host too), for checking
// that the harness left nothing behind.
func hostDirs(t *testing.T, cgPath string) []string {
	t.Helper()
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name(), cgPath))
		}
	}
	return out
}

func assertGone(t *testing.T, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("left behind: %s (stat: %v)", d, err)
		}
	}
}

const (
	mib          = 1 << 20
	v1Unlimited  = "9223372036854771712" // LONG_MAX rounded down to 4 KiB pages
	kubeHostsTop = "# Kubernetes-managed hosts file."
	saDir        = "/var/run/secrets/kubernetes.io/serviceaccount"
)

func TestSmoke(t *testing.T) {
	bin := probe(t)
	files := map[string]string{"/probe": bin}
	kubepods := hostDirs(t, "/kubepods")
	before := existing(kubepods)
	kpC, kpD := runc.NewKubePath("burstable"), runc.NewKubePath("burstable")

	// The subtests run in parallel, sharing /kubepods and
	// /kubepods/burstable; "modes" returns when all of them are done.
	t.Run("modes", func(t *testing.T) { smokeModes(t, files, kpC, kpD) })

	for _, pod := range []string{kpC.Pod(), kpD.Pod()} {
		assertGone(t, hostDirs(t, pod))
	}
	for _, d := range subtract(kubepods, before) {
		if inUse(d) {
			t.Logf("%s is in use by another harness user (a parallel test process); not checked", d)
			continue
		}
		assertGone(t, []string{d})
	}
}

func smokeModes(t *testing.T, files map[string]string, kpC, kpD runc.KubePath) {

	t.Run("a-no-cgroupns-limits", func(t *testing.T) {
		t.Parallel()
		res := runc.MustRun(t, runc.Config{
			Args:     []string{"/probe", "-mountinfo"},
			Files:    files,
			CPUQuota: 150000, CPUPeriod: 100000,
			MemoryLimit: 256 * mib,
		})
		p := parse(t, res.Stdout)
		show(t, res, p)
		want(t, p, "cpu.cfs_quota_us", "150000")
		want(t, p, "cpu.cfs_period_us", "100000")
		want(t, p, "memory.limit_in_bytes", strconv.Itoa(256*mib))
		// runc's default cgroup is <own cgroup>/<id>, and without a
		// cgroup namespace each v1 hierarchy is a bind mount rooted
		// there: root == the /proc/self/cgroup path.
		for _, c := range []string{"cpu", "memory", "pids"} {
			path := p.cgroupLine(c)
			if !strings.HasSuffix(path, "/"+res.ID) {
				t.Errorf("%s cgroup %q does not end in the container ID %s", c, path, res.ID)
			}
			if root := mountRoot(p.mounts, "/sys/fs/cgroup/"+c); root != path {
				t.Errorf("%s mount root %q, want the cgroup path %q", c, root, path)
			}
		}
		want(t, p, "cpu.dir", "/sys/fs/cgroup/cpu")
		assertGone(t, hostDirs(t, p.cgroupLine("cpu")))
	})

	t.Run("b-cgroupns", func(t *testing.T) {
		t.Parallel()
		res := runc.MustRun(t, runc.Config{
			Args:            []string{"/probe", "-mountinfo"},
			Files:           files,
			CgroupNamespace: true,
			CPUQuota:        50000, CPUPeriod: 100000,
			MemoryLimit: 128 * mib,
		})
		p := parse(t, res.Stdout)
		show(t, res, p)
		for _, l := range p.cgroup {
			if !strings.HasSuffix(l, ":/") {
				t.Errorf("with a cgroup namespace every line should be /, got %q", l)
			}
		}
		for _, l := range p.mounts {
			if f := strings.Fields(l); len(f) > 4 && f[3] != "/" {
				t.Errorf("with a cgroup namespace every mount root should be /, got %q", l)
			}
		}
		want(t, p, "cpu.cfs_quota_us", "50000")
		want(t, p, "memory.limit_in_bytes", strconv.Itoa(128*mib))
	})

	t.Run("c-kubernetes", func(t *testing.T) {
		t.Parallel()
		kp := kpC
		// Host paths shaped like the kubelet's, so that the mountinfo
		// roots of /etc/hosts and the token carry /pods/<uid>/.
		kubelet := filepath.Join(t.TempDir(), "var/lib/kubelet/pods", kp.PodUID)
		hosts := filepath.Join(kubelet, "etc-hosts")
		sa := filepath.Join(kubelet, "volumes/kubernetes.io~projected/kube-api-access-"+kp.ContainerID[:5])
		if err := os.MkdirAll(sa, 0o755); err != nil {
			t.Fatal(err)
		}
		mustWrite(t, hosts, kubeHostsTop+"\n127.0.0.1\tlocalhost\n10.244.1.7\tprobe-pod\n")
		mustWrite(t, filepath.Join(sa, "namespace"), "rightsize-test")
		mustWrite(t, filepath.Join(sa, "token"), "not-a-token")
		mustWrite(t, filepath.Join(sa, "ca.crt"), "not-a-cert")

		res := runc.MustRun(t, runc.Config{
			Args: []string{"/probe", "-mountinfo", "-env", "KUBERNETES_SERVICE_HOST",
				"-cat", "/etc/hosts," + saDir + "/namespace"},
			Env:         []string{"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443"},
			Hostname:    "probe-pod",
			Files:       files,
			CgroupsPath: kp.Container(),
			CPUQuota:    50000, CPUPeriod: 100000,
			MemoryLimit: 64 * mib,
			BindMounts: []runc.Mount{
				{Source: hosts, Destination: "/etc/hosts", ReadOnly: true},
				{Source: sa, Destination: saDir, ReadOnly: true},
			},
		})
		p := parse(t, res.Stdout)
		show(t, res, p)
		for _, c := range []string{"cpu", "cpuacct", "memory", "pids"} {
			if got := p.cgroupLine(c); got != kp.Container() {
				t.Errorf("%s cgroup %q, want %q", c, got, kp.Container())
			}
		}
		want(t, p, "cpu.cfs_quota_us", "50000")
		want(t, p, "memory.limit_in_bytes", strconv.Itoa(64*mib))
		want(t, p, "env.KUBERNETES_SERVICE_HOST", "10.0.0.1")
		if got := p.files["/etc/hosts"]; got != kubeHostsTop {
			t.Errorf("/etc/hosts first line %q", got)
		}
		if got := p.files[saDir+"/namespace"]; got != "rightsize-test" {
			t.Errorf("namespace file %q", got)
		}
		for _, point := range []string{"/etc/hosts", saDir} {
			root := mountRoot(p.allMounts, point)
			if !strings.Contains(root, "/pods/"+kp.PodUID+"/") {
				t.Errorf("mountinfo root of %s is %q, want a /pods/<uid>/ segment", point, root)
			}
			t.Logf("mountinfo %s: %s", point, lineFor(p.allMounts, point))
		}
		// The pod level is this run's alone: gone as soon as Run
		// returns. /kubepods is checked once every subtest is done.
		assertGone(t, hostDirs(t, kp.Pod()))
	})

	t.Run("d-parent-quota", func(t *testing.T) {
		t.Parallel()
		kp := kpD
		parent := runc.ParentCgroup(t, kp.Pod(), runc.Limits{CPUQuota: 100000, CPUPeriod: 100000, MemoryLimit: 128 * mib})
		res := runc.MustRun(t, runc.Config{
			Args:        []string{"/probe", "-burn", "1s", "-threads", "2"},
			Files:       files,
			CgroupsPath: parent.Child(kp.ContainerID),
		})
		p := parse(t, res.Stdout)
		show(t, res, p)
		// The leaf has no quota and no memory limit of its own; only
		// the memory controller shows the parent's limit to the leaf.
		want(t, p, "cpu.cfs_quota_us", "-1")
		want(t, p, "memory.limit_in_bytes", v1Unlimited)
		want(t, p, "memory.stat.hierarchical_memory_limit", strconv.Itoa(128*mib))
		// The parent's quota is enforced all the same: two spinning
		// threads get about one CPU, not two.
		wall, _ := strconv.Atoi(p.values["burn.wall_ms"])
		cpu, _ := strconv.Atoi(p.values["burn.cpu_ms"])
		if wall == 0 || float64(cpu) > 1.2*float64(wall)+50 {
			t.Errorf("burn used %d ms CPU in %d ms: the parent's 1-CPU quota was not enforced", cpu, wall)
		}
		stat, _ := os.ReadFile(filepath.Join(parent.Dir("cpu"), "cpu.stat"))
		quota, _ := os.ReadFile(filepath.Join(parent.Dir("cpu"), "cpu.cfs_quota_us"))
		t.Logf("burn: %d ms CPU in %d ms wall (nproc %s); parent quota %s, parent cpu.stat: %s",
			cpu, wall, p.values["nproc"], strings.TrimSpace(string(quota)), strings.Join(strings.Fields(string(stat)), " "))
		// Run removed the container's cgroup, the parent is still ours.
		assertGone(t, []string{filepath.Join(parent.Dir("cpu"), kp.ContainerID)})
		if _, err := os.Stat(parent.Dir("cpu")); err != nil {
			t.Errorf("parent cgroup gone before the test's cleanup: %v", err)
		}
	})

	t.Run("e-pids-readonly", func(t *testing.T) {
		t.Parallel()
		res := runc.MustRun(t, runc.Config{
			Args:           []string{"/probe", "-write", "/probe-was-here"},
			Files:          files,
			PidsLimit:      64,
			ReadOnlyRootfs: true,
		})
		p := parse(t, res.Stdout)
		show(t, res, p)
		want(t, p, "pids.max", "64")
		if w := p.values["write"]; !strings.Contains(w, "read-only file system") {
			t.Errorf("write to the rootfs: %q, want a read-only error", w)
		}
	})
}

// TestParentCgroupCleanup checks that the parent and the /kubepods levels it
// created are gone once the subtest that used them has finished, and that
// the cleanup also runs when the subtest fails early.
func TestParentCgroupCleanup(t *testing.T) {
	runc.Require(t)
	kp := runc.NewKubePath("besteffort")
	before := existing(hostDirs(t, "/kubepods"))
	var dirs []string
	t.Run("inner", func(t *testing.T) {
		c := runc.ParentCgroup(t, kp.Pod(), runc.Limits{CPUQuota: 50000, PidsLimit: 10})
		for _, ctrl := range []string{"cpu", "cpuacct", "memory", "pids"} {
			dirs = append(dirs, c.Dir(ctrl))
		}
		if b, err := os.ReadFile(filepath.Join(c.Dir("pids"), "pids.max")); err != nil || strings.TrimSpace(string(b)) != "10" {
			t.Errorf("pids.max = %q, %v", b, err)
		}
		t.SkipNow() // ends the subtest early, as a failure would
	})
	assertGone(t, dirs)
	assertGone(t, hostDirs(t, kp.Pod()))
	for _, d := range subtract(hostDirs(t, "/kubepods"), before) {
		if !inUse(d) {
			assertGone(t, []string{d})
		}
	}
}

func TestExitCode(t *testing.T) {
	bin := probe(t)
	res, err := runc.Run(context.Background(), runc.Config{Args: []string{"/probe", "-exit", "3"}, Files: map[string]string{"/probe": bin}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", res.ExitCode)
	}
}

// TestRuncError checks that runc's own failure is an error, not an exit
// code, and is cleaned up like a success.
func TestRuncError(t *testing.T) {
	runc.Require(t)
	res, err := runc.Run(context.Background(), runc.Config{Args: []string{"/does-not-exist"}})
	if err == nil {
		t.Fatalf("Run of a missing program: no error (exit %d, stderr %q)", res.ExitCode, res.Stderr)
	}
	t.Logf("error as expected: %v", err)
	assertNoContainer(t, res.ID)
}

func TestTimeout(t *testing.T) {
	bin := probe(t)
	start := time.Now()
	res, err := runc.Run(context.Background(), runc.Config{
		Args:    []string{"/probe", "-sleep", "1m"},
		Files:   map[string]string{"/probe": bin},
		Timeout: 2 * time.Second,
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Run took %v after a 2s timeout", d)
	}
	t.Logf("timed out as expected after %v: exit %d, %v", time.Since(start).Round(time.Millisecond), res.ExitCode, err)
	assertNoContainer(t, res.ID)
	p := parse(t, res.Stdout)
	assertGone(t, hostDirs(t, p.cgroupLine("cpu")))
}

func assertNoContainer(t *testing.T, id string) {
	t.Helper()
	if id == "" {
		t.Fatal("no container ID in the result")
	}
	out, err := exec.Command("runc", "--root", runc.StateRoot, "state", id).CombinedOutput()
	if err == nil {
		t.Errorf("container %s still exists: %s", id, out)
	}
}

// inUse reports whether another harness user holds d (the harness takes a
// shared flock on the ancestors it created while it needs them).
func inUse(d string) bool {
	f, err := os.Open(d)
	if err != nil {
		return false
	}
	defer f.Close()
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil
}

func mustWrite(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func existing(dirs []string) map[string]bool {
	m := map[string]bool{}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			m[d] = true
		}
	}
	return m
}

func subtract(dirs []string, before map[string]bool) []string {
	var out []string
	for _, d := range dirs {
		if !before[d] {
			out = append(out, d)
		}
	}
	return out
}

func lineFor(lines []string, point string) string {
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 4 && f[4] == point {
			return l
		}
	}
	return fmt.Sprintf("<no mount at %s>", point)
}
