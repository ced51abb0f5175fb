//go:build linux

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv/runc"
	"github.com/rightsize/rightsize/runtimeinfo"
)

// service is one line of internal/testenv/blankservice.
type service struct {
	GOMAXPROCS int   `json:"gomaxprocs"`
	GOMEMLIMIT int64 `json:"gomemlimit"`
	NumCPU     int   `json:"numcpu"`
}

var (
	buildOnce       sync.Once
	cmdBin, svcBin  string
	buildErr        error
	buildDir        string
	buildDirCleanup func()
)

// binaries builds the static command and service once per test binary.
func binaries(t *testing.T) (string, string) {
	t.Helper()
	runc.Require(t)
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rightsize-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		cmdBin, svcBin = filepath.Join(dir, "rightsize"), filepath.Join(dir, "service")
		for out, pkg := range map[string]string{cmdBin: "github.com/rightsize/rightsize/cmd/rightsize", svcBin: "github.com/rightsize/rightsize/internal/testenv/blankservice"} {
			if err := goBuild(pkg, out); err != nil {
				buildErr = err
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return cmdBin, svcBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// inContainer runs `rightsize --json` and the service in two containers
// with the same configuration and returns what each said.
func inContainer(t *testing.T, cfg runc.Config) (report, service) {
	t.Helper()
	cmd, svc := binaries(t)
	cfg.Files = map[string]string{"/rightsize": cmd, "/service": svc}
	cfg.Args = []string{"/rightsize", "--json"}
	res := runc.MustRun(t, cfg)
	var r report
	if err := json.Unmarshal([]byte(res.Stdout), &r); err != nil || res.ExitCode != 0 {
		t.Fatalf("rightsize --json: exit %d, %v\nstdout:\n%s\nstderr:\n%s", res.ExitCode, err, res.Stdout, res.Stderr)
	}
	if r.SchemaVersion != 1 {
		t.Fatalf("schemaVersion %d", r.SchemaVersion)
	}
	if len(r.Warnings) > 0 {
		t.Logf("warnings: %q (unknown %q)", r.Warnings, r.Unknown)
	}
	cfg.Args = []string{"/service"}
	res = runc.MustRun(t, cfg)
	var s service
	if err := json.Unmarshal([]byte(firstLine(res.Stdout)), &s); err != nil || res.ExitCode != 0 {
		t.Fatalf("service: exit %d, %v\nstdout:\n%s\nstderr:\n%s", res.ExitCode, err, res.Stdout, res.Stderr)
	}
	t.Logf("service: GOMAXPROCS %d, GOMEMLIMIT %d, NumCPU %d; stderr: %s", s.GOMAXPROCS, s.GOMEMLIMIT, s.NumCPU, strings.TrimSpace(res.Stderr))
	return r, s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func want[T comparable](t *testing.T, what string, got *T, w T) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, w)
	} else if *got != w {
		t.Errorf("%s = %v, want %v", what, *got, w)
	}
}

func wantNull[T any](t *testing.T, what string, got *T) {
	t.Helper()
	if got != nil {
		t.Errorf("%s = %v, want null", what, *got)
	}
}

// memLimit is the GOMEMLIMIT the default policy gives for a limit:
// DefaultMemoryRatio × limit, rounded down.
func memLimit(limit int64) int64 {
	return int64(math.Floor(float64(limit) * runtimeinfo.DefaultMemoryRatio))
}

// 0.9 × 256 MiB.
var gomemlimit256 = memLimit(256 << 20)

// Docker-like: no cgroup namespace, so each v1 hierarchy is bind-mounted
// with the container's own cgroup as its root.
func TestDockerLike(t *testing.T) {
	r, s := inContainer(t, runc.Config{CPUQuota: 150000, CPUPeriod: 100000, MemoryLimit: 256 << 20})
	want(t, "cpu.limit", r.CPU.Limit, 1.5)
	want(t, "cpu.leafLimit", r.CPU.LeafLimit, 1.5) // the container's own quota binds
	want(t, "memory.limit", r.Memory.Limit, int64(256<<20))
	if r.Cgroup.CPU == nil || r.Cgroup.CPU.Path != "/sys/fs/cgroup/cpu" || r.Cgroup.Memory == nil || r.Cgroup.Memory.Path != "/sys/fs/cgroup/memory" {
		t.Errorf("cgroup paths %+v %+v, want the mount points (bind-mounted roots)", r.Cgroup.CPU, r.Cgroup.Memory)
	}
	want(t, "cpu.limitPath", r.CPU.LimitPath, "/sys/fs/cgroup/cpu")
	want(t, "go.recommendedGOMAXPROCS", r.Go.RecommendedGOMAXPROCS, 2)
	want(t, "go.recommendedGOMEMLIMIT", r.Go.RecommendedGOMEMLIMIT, int64(gomemlimit256))
	if c := r.Environment.Container; c == nil || !*c {
		t.Errorf("environment.container = %v inside runc, want true", c)
	}
	if s.GOMAXPROCS != 2 || s.GOMEMLIMIT != gomemlimit256 {
		t.Errorf("service GOMAXPROCS %d GOMEMLIMIT %d, want 2 and %d", s.GOMAXPROCS, s.GOMEMLIMIT, gomemlimit256)
	}
}

// A private cgroup namespace: every path is "/" and the directories are
// the mount points themselves.
func TestCgroupNamespace(t *testing.T) {
	r, s := inContainer(t, runc.Config{CPUQuota: 50000, CPUPeriod: 100000, MemoryLimit: 128 << 20, CgroupNamespace: true})
	want(t, "cpu.limit", r.CPU.Limit, 0.5)
	want(t, "memory.limit", r.Memory.Limit, int64(128<<20))
	if r.Cgroup.CPU == nil || r.Cgroup.CPU.Path != "/sys/fs/cgroup/cpu" {
		t.Errorf("cgroup.cpu = %+v", r.Cgroup.CPU)
	}
	if s.GOMAXPROCS != 1 || s.GOMEMLIMIT != memLimit(128<<20) {
		t.Errorf("service GOMAXPROCS %d GOMEMLIMIT %d", s.GOMAXPROCS, s.GOMEMLIMIT)
	}
}

// kubeFiles lays out what the kubelet bind-mounts into a container: an
// /etc/hosts with its heading and the service account's namespace file,
// from a pods/<uid>/ directory (which detection finds in the mount roots).
func kubeFiles(t *testing.T, kp runc.KubePath) []runc.Mount {
	t.Helper()
	pod := filepath.Join(t.TempDir(), "var/lib/kubelet/pods", kp.PodUID)
	hosts := filepath.Join(pod, "etc-hosts")
	sa := filepath.Join(pod, "volumes/kubernetes.io~projected/kube-api-access-x")
	if err := os.MkdirAll(sa, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(hosts, []byte("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"), 0o644)
	os.WriteFile(filepath.Join(sa, "namespace"), []byte("shop"), 0o644)
	os.WriteFile(filepath.Join(sa, "token"), []byte("secret-token-never-read"), 0o600)
	return []runc.Mount{
		{Source: hosts, Destination: "/etc/hosts", ReadOnly: true},
		{Source: sa, Destination: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
	}
}

func TestKubernetes(t *testing.T) {
	for _, ns := range []bool{false, true} {
		t.Run(fmt.Sprintf("cgroupns=%v", ns), func(t *testing.T) {
			binaries(t)
			kp := runc.NewKubePath("burstable")
			pod := runc.ParentCgroup(t, kp.Pod(), runc.Limits{})
			adj := 500
			r, s := inContainer(t, runc.Config{
				CgroupsPath:     pod.Child(kp.ContainerID),
				CgroupNamespace: ns,
				CPUQuota:        100000, CPUPeriod: 100000, MemoryLimit: 256 << 20,
				Env:         []string{"KUBERNETES_SERVICE_HOST=10.96.0.1", "KUBERNETES_SERVICE_PORT=443"},
				BindMounts:  kubeFiles(t, kp),
				OOMScoreAdj: &adj,
			})
			want(t, "environment.orchestrator", r.Environment.Orchestrator, "kubernetes")
			k := r.Environment.Kubernetes
			if k == nil {
				t.Fatal("environment.kubernetes = null")
			}
			want(t, "kubernetes.podUID", k.PodUID, kp.PodUID)
			want(t, "kubernetes.qosClass", k.QOSClass, "Burstable")
			want(t, "kubernetes.namespace", k.Namespace, "shop")
			if ns {
				// Behind a cgroup namespace no signal names the container.
				wantNull(t, "kubernetes.containerID", k.ContainerID)
			} else {
				want(t, "kubernetes.containerID", k.ContainerID, kp.ContainerID)
			}
			want(t, "cpu.limit", r.CPU.Limit, 1.0)
			if s.GOMAXPROCS != 1 || s.GOMEMLIMIT != gomemlimit256 {
				t.Errorf("service GOMAXPROCS %d GOMEMLIMIT %d", s.GOMAXPROCS, s.GOMEMLIMIT)
			}
		})
	}
}

// A pod-level parent with a quota over a container without one (v1
// refuses a child quota above its parent's). In the usual bind-mounted view
// the parent's directory is not mounted: its memory limit still shows in
// memory.stat's hierarchical_memory_limit, its CPU quota does not. With the
// host's hierarchy mounted (no cgroup namespace, /sys/fs/cgroup bound in
// as monitoring agents do) the walk reaches the parent and honours both.
func TestPodLevelParent(t *testing.T) {
	binaries(t)
	t.Run("bind-mounted root", func(t *testing.T) {
		kp := runc.NewKubePath("burstable")
		pod := runc.ParentCgroup(t, kp.Pod(), runc.Limits{CPUQuota: 100000, CPUPeriod: 100000, MemoryLimit: 128 << 20})
		r, s := inContainer(t, runc.Config{CgroupsPath: pod.Child(kp.ContainerID), CPUQuota: -1})
		want(t, "memory.limit", r.Memory.Limit, int64(128<<20))
		if r.CPU.Limit != nil {
			t.Logf("cpu.limit = %v (the parent is not mounted; not expected to be visible)", *r.CPU.Limit)
		}
		if s.GOMEMLIMIT != memLimit(128<<20) {
			t.Errorf("service GOMEMLIMIT %d, want 0.9 × 128 MiB", s.GOMEMLIMIT)
		}
	})
	t.Run("host hierarchy mounted", func(t *testing.T) {
		kp := runc.NewKubePath("burstable")
		pod := runc.ParentCgroup(t, kp.Pod(), runc.Limits{CPUQuota: 100000, CPUPeriod: 100000, MemoryLimit: 128 << 20})
		r, s := inContainer(t, runc.Config{
			CgroupsPath: pod.Child(kp.ContainerID), CPUQuota: -1,
			BindMounts: []runc.Mount{{Source: "/sys/fs/cgroup", Destination: "/sys/fs/cgroup", ReadOnly: true}},
		})
		want(t, "cpu.limit", r.CPU.Limit, 1.0)
		want(t, "cpu.limitPath", r.CPU.LimitPath, filepath.Join("/sys/fs/cgroup/cpu", kp.Pod()))
		// What the Go runtime and automaxprocs read: the container's own
		// cgroup, quota -1.
		wantNull(t, "cpu.leafLimit", r.CPU.LeafLimit)
		want(t, "memory.limit", r.Memory.Limit, int64(128<<20))
		if s.GOMAXPROCS != 1 {
			t.Errorf("service GOMAXPROCS %d, want 1 from the parent's quota", s.GOMAXPROCS)
		}
	})
}

func TestPIDsAndReadOnlyRootfs(t *testing.T) {
	r, _ := inContainer(t, runc.Config{PidsLimit: 64, ReadOnlyRootfs: true})
	want(t, "pids.limit", r.PIDs.Limit, int64(64))
	if r.PIDs.Current == nil || *r.PIDs.Current < 1 {
		t.Errorf("pids.current = %v", r.PIDs.Current)
	}
	wantNull(t, "cpu.limit", r.CPU.Limit)
	wantNull(t, "memory.limit", r.Memory.Limit)
}

// An in-place resize: the host rewrites the container's quota and memory
// limit while the service runs; its watcher follows within two intervals.
func TestResizeInPlace(t *testing.T) {
	_, svc := binaries(t)
	kp := runc.NewKubePath("guaranteed")
	pod := runc.ParentCgroup(t, kp.Pod(), runc.Limits{})
	type result struct {
		res runc.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := runc.Run(context.Background(), runc.Config{
			Args: []string{"/service", "-for", "3s"}, Files: map[string]string{"/service": svc},
			Env:         []string{"RIGHTSIZE_WATCH_INTERVAL=100ms"},
			CgroupsPath: pod.Child(kp.ContainerID), CPUQuota: 200000, CPUPeriod: 100000, MemoryLimit: 256 << 20,
		})
		done <- result{res, err}
	}()
	cpuDir := filepath.Join(pod.Dir("cpu"), kp.ContainerID)
	memDir := filepath.Join(pod.Dir("memory"), kp.ContainerID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(cpuDir, "cgroup.procs")); err == nil {
			if b, _ := os.ReadFile(filepath.Join(cpuDir, "cgroup.procs")); len(strings.TrimSpace(string(b))) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("container did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond)
	resized := time.Now()
	if err := os.WriteFile(filepath.Join(cpuDir, "cpu.cfs_quota_us"), []byte("100000"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(memDir, "memory.limit_in_bytes"), []byte(fmt.Sprint(512<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.res.ExitCode != 0 {
		t.Fatalf("service: %v exit %d\n%s\n%s", r.err, r.res.ExitCode, r.res.Stdout, r.res.Stderr)
	}
	var lines []service
	sc := bufio.NewScanner(strings.NewReader(r.res.Stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s service
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			lines = append(lines, s)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("service printed no change after the resize at %v:\n%s\n%s", resized, r.res.Stdout, r.res.Stderr)
	}
	first, last := lines[0], lines[len(lines)-1]
	if first.GOMAXPROCS != 2 || first.GOMEMLIMIT != gomemlimit256 {
		t.Errorf("before the resize: %+v", first)
	}
	if last.GOMAXPROCS != 1 || last.GOMEMLIMIT != memLimit(512<<20) {
		t.Errorf("after the resize: %+v, want GOMAXPROCS 1 and 0.9 × 512 MiB", last)
	}
	t.Logf("stderr (the watcher's log lines):\n%s", r.res.Stderr)
}
