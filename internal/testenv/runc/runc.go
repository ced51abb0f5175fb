// Package runc runs programs inside real runc containers with CPU, memory and
// pids limits, for rightsize's integration tests.
//
// Fixture trees show the library what a container looks like; this package
// shows it what one is. Run builds an OCI bundle in a temporary directory (a
// rootfs holding only the given files, typically a static Go binary, and a
// config.json with the mounts docker and runc use, /sys/fs/cgroup included),
// runs it with `runc run`, and returns the program's output and exit code.
// The cgroup files and mountinfo lines the program sees are the kernel's and
// runc's, not a model of them: bind-mounted v1 roots without a cgroup
// namespace, "/" everywhere with one, Kubernetes-shaped paths when
// Config.CgroupsPath asks for them.
//
// Requirements: Linux, root, writable cgroup v1 hierarchies of the cpu,
// memory and pids controllers, and runc in PATH (Debian: apt-get install
// runc; or set RIGHTSIZE_RUNC to its path). The harness's tests assert v1
// paths and ParentCgroup writes v1 files, so a cgroup v2 only host (most
// current distributions) is reported as testenv.V2OnlyReason, before root
// and runc. Tests call Require (or ParentCgroup, MustRun or Start, which
// call it) and are skipped with the reason when something is missing,
// unless RIGHTSIZE_REQUIRE_RUNC=1 (or RIGHTSIZE_REQUIRE=1), when they fail;
// TestV2OnlyHost shows both on the pure v2 qemu guest.
//
// The harness touches nothing it did not create. Containers get unique IDs
// and their own runc state root (StateRoot), are killed and deleted by that
// ID only, and only cgroup directories the harness created are removed (see
// cgroup_linux.go for how ancestors shared by parallel tests are handled).
// See names.go for how leftovers of a crashed run can be recognised, and
// sweep_linux.go for how they are removed.
//
// A test in another package:
//
//	func TestUnderPodQuota(t *testing.T) {
//		bin := runc.BuildStatic(t, "github.com/rightsize/rightsize/cmd/rightsize")
//		kp := runc.NewKubePath("burstable")
//		pod := runc.ParentCgroup(t, kp.Pod(), runc.Limits{CPUQuota: 100000, CPUPeriod: 100000})
//		res := runc.MustRun(t, runc.Config{
//			Args:        []string{"/rightsize", "--json"},
//			Env:         []string{"KUBERNETES_SERVICE_HOST=10.0.0.1"},
//			Files:       map[string]string{"/rightsize": bin},
//			CgroupsPath: pod.Child(kp.ContainerID),
//			MemoryLimit: 256 << 20,
//		})
//		// res.Stdout, res.ExitCode ...
//	}
//
// The package compiles on every GOOS, so that test files importing it
// build there too; outside Linux, Available reports why nothing can run.
package runc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// StateRoot is the runc state directory (runc --root) of every harness
// container. Keeping it apart from runc's default /run/runc means the
// harness never lists, kills or deletes a container it did not start.
const StateRoot = "/run/rightsize/runc"

// DefaultTimeout bounds a Run whose Config.Timeout is zero.
const DefaultTimeout = 2 * time.Minute

// maxOutput caps the stdout and stderr kept from one run, so a runaway
// program cannot exhaust the test's memory.
const maxOutput = 16 << 20

// Config describes one container run. Zero values mean "unset": runc then
// writes nothing and the kernel default (unlimited) applies.
type Config struct {
	// Args is the program and its arguments; Args[0] is a path inside the
	// rootfs, e.g. "/probe" for Files{"/probe": hostBinary}.
	Args []string
	// Env is the environment, "KEY=value". PATH is added if missing.
	Env []string
	// Hostname is the UTS hostname; "" means "rightsize-test".
	Hostname string

	// CPUQuota and CPUPeriod are linux.resources.cpu quota and period
	// (cpu.cfs_quota_us and cpu.cfs_period_us on v1). -1 quota writes
	// "unlimited" explicitly.
	CPUQuota  int64
	CPUPeriod uint64
	// MemoryLimit is linux.resources.memory.limit in bytes.
	MemoryLimit int64
	// PidsLimit is linux.resources.pids.limit.
	PidsLimit int64

	// CgroupsPath is linux.cgroupsPath. An absolute path is taken from
	// the hierarchy root, e.g. KubePath.Container() or
	// Cgroup.Child(...); "" leaves runc's default, a cgroup named after
	// the container ID below runc's own (this process's) cgroup.
	CgroupsPath string
	// CgroupNamespace gives the container a private cgroup namespace:
	// /proc/self/cgroup then shows "/" for every hierarchy.
	CgroupNamespace bool
	// ReadOnlyRootfs mounts the rootfs read-only (root.readonly).
	ReadOnlyRootfs bool
	// OOMScoreAdj is process.oomScoreAdj, as the kubelet sets it by QoS
	// class (-997 Guaranteed, 1000 BestEffort, 2..999 Burstable); nil
	// leaves it inherited.
	OOMScoreAdj *int

	// Files maps guest paths to host files copied into the rootfs with
	// their permission bits (for binaries, which must be static).
	Files map[string]string
	// Contents maps guest paths to file contents (mode 0644).
	Contents map[string][]byte
	// BindMounts are mounted after the standard mounts, in order.
	BindMounts []Mount

	// Timeout bounds the whole run, runc included; DefaultTimeout if
	// zero. When it expires the container is killed and Run returns an
	// error wrapping context.DeadlineExceeded.
	Timeout time.Duration
}

// Mount is an extra mount in the container, by default a bind mount of a
// host file or directory.
type Mount struct {
	Source      string   // absolute host path (bind) or the source field for other types
	Destination string   // absolute guest path; runc creates the mount point
	ReadOnly    bool     // add "ro"
	Type        string   // "" or "bind" for a bind mount (rbind,rprivate); otherwise e.g. "tmpfs"
	Options     []string // extra mount options
}

// Result is what a run produced.
type Result struct {
	Stdout, Stderr string
	// ExitCode is the program's exit status; 128+n when a signal n
	// killed it (runc reports it that way, so 137 after a timeout), -1
	// when runc itself had to be killed.
	ExitCode int
	// ID is the container ID (rightsize-<hex>), already deleted.
	ID string
	// Duration is the wall time of `runc run`, bundle creation and
	// cleanup excluded.
	Duration time.Duration
}

// ErrUnavailable is wrapped by the errors Available and Run return when the
// machine cannot run harness containers.
var ErrUnavailable = errors.New("runc harness unavailable")

var available = sync.OnceValue(checkAvailable)

// Available reports whether harness containers can run here, and if not,
// why. The answer is computed once per process.
func Available() error { return available() }

func runcBinary() (string, error) {
	if p := os.Getenv("RIGHTSIZE_RUNC"); p != "" {
		return exec.LookPath(p)
	}
	return exec.LookPath("runc")
}

// Require skips t with the reason when harness containers cannot run here.
// With RIGHTSIZE_REQUIRE_RUNC=1 (or RIGHTSIZE_REQUIRE=1) it fails t instead,
// so that a CI job meant to run these tests cannot pass by skipping them.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		skipOrFail(t, err.Error())
	}
}

func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	testenv.SkipOrFail(t, testenv.Runc, reason)
}

// MustRun is Run for tests: it calls Require, fails t when the container
// could not be run, and logs the output when t fails. A non-zero exit code
// is not a failure; check Result.ExitCode.
func MustRun(t testing.TB, cfg Config) Result {
	t.Helper()
	Require(t)
	res, err := Run(context.Background(), cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("container %s exit %d\nstdout:\n%s\nstderr:\n%s", res.ID, res.ExitCode, res.Stdout, res.Stderr)
		}
	})
	if err != nil {
		t.Fatalf("runc.Run: %v", err)
	}
	return res
}

// Run runs cfg.Args in a new container and waits for it to exit. Before it
// returns, whatever happened, the container is deleted (runc delete -f by
// its ID), the cgroup directories created for it are removed and the bundle
// is gone; a failure of that cleanup is part of the returned error. Stdout
// and Stderr are returned as far as they were captured, also with an error.
//
// An error means the container could not be run as asked (bad Config, runc
// refused the spec, timeout, cleanup failure); the program's own non-zero
// exit is not an error but Result.ExitCode. Run is safe for concurrent use,
// also from several test processes at once.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := Available(); err != nil {
		return Result{}, err
	}
	if len(cfg.Args) == 0 {
		return Result{}, errors.New("runc: Config.Args is empty")
	}
	for _, m := range cfg.BindMounts {
		if !filepath.IsAbs(m.Destination) {
			return Result{}, fmt.Errorf("runc: mount destination %q is not absolute", m.Destination)
		}
		if (m.Type == "" || m.Type == "bind") && !filepath.IsAbs(m.Source) {
			return Result{}, fmt.Errorf("runc: bind mount source %q is not absolute", m.Source)
		}
	}
	return run(ctx, cfg)
}

// capped is a bytes.Buffer that keeps at most maxOutput bytes and drops the
// rest while still reporting success, so the program never blocks on a
// full pipe.
type capped struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := maxOutput - c.buf.Len(); room < len(p) {
		c.buf.Write(p[:max(room, 0)])
		c.cut = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return c.buf.String() + "\n[output truncated]\n"
	}
	return c.buf.String()
}

// BuildStatic builds the Go main package pkg (a directory such as
// "./testdata/probe", relative to the test's working directory, or an
// import path) with CGO_ENABLED=0 and returns the path of the binary, in a
// directory removed after the test. Containers get nothing but the binary,
// so it must not need a libc.
func BuildStatic(t testing.TB, pkg string) string {
	t.Helper()
	return goBuild(t, pkg, "build")
}

// BuildTestBinary compiles the tests of package pkg (go test -c) with
// CGO_ENABLED=0, for running a package's own tests inside a container:
// Args {"/pkg.test", "-test.run", "^TestInContainer$", "-test.v"}.
func BuildTestBinary(t testing.TB, pkg string) string {
	t.Helper()
	return goBuild(t, pkg, "test", "-c")
}

// ProbePackage is the import path of the probe program the smoke test
// runs: it prints /proc/self/cgroup, the cgroup lines of mountinfo and the
// limits it finds (see testdata/probe). Other packages' tests can run it
// beside their own binaries for a baseline.
const ProbePackage = "github.com/rightsize/rightsize/internal/testenv/runc/testdata/probe"

// BuildProbe builds ProbePackage (see BuildStatic).
func BuildProbe(t testing.TB) string {
	t.Helper()
	return goBuild(t, ProbePackage, "build")
}

func goBuild(t testing.TB, pkg string, verb ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		skipOrFail(t, fmt.Sprintf("no go command in PATH to build %s: %v", pkg, err))
	}
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if len(verb) > 1 {
		out += ".test"
	}
	args := append(append([]string(nil), verb...), "-trimpath", "-o", out, pkg)
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s %s: %v\n%s", strings.Join(verb, " "), pkg, err, b)
	}
	return out
}
