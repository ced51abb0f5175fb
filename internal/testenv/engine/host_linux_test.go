//go:build linux

package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

func mountTmpfs(dir string) error { return syscall.Mount("rightsize-test", dir, "tmpfs", 0, "size=1m") }

func TestMentions(t *testing.T) {
	dir := "/tmp/rightsize-engine-docker-123"
	for cmdline, want := range map[string]bool{
		"dockerd\x00--data-root\x00/tmp/rightsize-engine-docker-123/data\x00":  true,
		"containerd\x00--config=/tmp/rightsize-engine-docker-123/x.toml\x00":   true,
		"sh\x00-c\x00cd /tmp/rightsize-engine-docker-123 && x\x00":             true,
		"conmon\x00/tmp/rightsize-engine-docker-123\x00":                       true,
		"conmon\x00/tmp/rightsize-engine-docker-123":                           true,
		"dockerd\x00--data-root\x00/tmp/rightsize-engine-docker-1234/data\x00": false,
		"bash\x00": false,
	} {
		if got := mentions([]byte(cmdline), dir); got != want {
			t.Errorf("mentions(%q) = %v, want %v", strings.ReplaceAll(cmdline, "\x00", " "), got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	if got := unescape(`/a\040b\011c`); got != "/a b\tc" {
		t.Errorf("unescape = %q", got)
	}
	if got := unescape("/plain"); got != "/plain" {
		t.Errorf("unescape = %q", got)
	}
}

func TestOwner(t *testing.T) {
	dir := t.TempDir()
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	if !ownerAlive(dir) {
		t.Error("this process's directory is not alive")
	}
	// PID 1 with another start time: a reused PID, not the owner.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte("1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if start, err := procStartTime(1); err == nil && start != 1 && ownerAlive(dir) {
		t.Error("a PID with another start time counts as the owner")
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ownerAlive(dir) {
		t.Error("a malformed owner file counts as alive")
	}
}

func TestRecordedCgroups(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"/rightsize-docker-ab", "/kubepods", "/rightsize-x/../etc", "/rightsize-parent-cd"} {
		if err := recordCgroup(dir, p); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := recordedCgroups(dir), []string{"/rightsize-docker-ab", "/rightsize-parent-cd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want only the harness's names %q", got, want)
	}
	for _, p := range []string{"/", "/kubepods", "/rightsize-x/../docker", "rightsize-x"} {
		if err := removeCgroupTree(p); err == nil {
			t.Errorf("removeCgroupTree(%q) did not refuse", p)
		}
	}
}

func TestCleanupDirRemovesItsMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Docker, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "shm")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(sub); err != nil {
		testenv.SkipOrFail(t, testenv.Docker, fmt.Sprintf("cannot mount a tmpfs here: %v", err))
	}
	// Should cleanupDir fail to unmount it, the tmpfs still goes (before
	// t.TempDir's removal, cleanups running last in, first out).
	t.Cleanup(func() {
		if err := syscall.Unmount(sub, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			t.Errorf("unmount %s: %v", sub, err)
		}
	})
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cleanupDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists: %v", dir, err)
	}
	b, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(b), sub) {
		t.Errorf("%s is still mounted", sub)
	}
}

func TestEngineProcess(t *testing.T) {
	dir := "/tmp/rightsize-engine-docker-123"
	arg := "\x00--root\x00" + dir + "/runc\x00"
	for _, tc := range []struct {
		comm    string
		cmdline string
		want    bool
	}{
		{"dockerd\n", "dockerd\x00--data-root\x00" + dir + "/data\x00", true},
		{"containerd\n", "containerd\x00--config=" + dir + "/x.toml\x00", true},
		// containerd-shim-runc-v2 is cut to 15 bytes in comm.
		{"containerd-shim\n", "/usr/bin/containerd-shim-runc-v2\x00-namespace\x00rightsize\x00-address\x00" + dir + "/exec/containerd.sock\x00", true},
		{"conmon\n", "/usr/bin/conmon" + arg, true},
		{"runc\n", "runc" + arg, true},
		{"crun\n", "crun" + arg, true},
		{"docker\n", "docker\x00--host\x00unix://" + dir + "/docker.sock\x00ps\x00", true},
		{"podman\n", "podman" + arg, true},
		// An engine program that does not name the directory.
		{"dockerd\n", "dockerd\x00--data-root\x00/var/lib/docker\x00", false},
		{"runc\n", "runc\x00--root\x00" + dir + "4/runc\x00", false},
		// Anything else that names it: a shell, an editor, a tail.
		{"sh\n", "sh\x00-c\x00cd " + dir + " && x\x00", false},
		{"bash\n", "bash" + arg, false},
		{"vim\n", "vim\x00" + dir + "/dockerd.log\x00", false},
		{"tail\n", "tail\x00-f\x00" + dir + "/dockerd.log\x00", false},
		{"dockerd-wrapper\n", "dockerd-wrapper" + arg, false},
		{"", "runc" + arg, false},
		{"containerd-shi\n", "containerd-shim" + arg, false},
	} {
		if got := engineProcess(tc.comm, []byte(tc.cmdline), dir); got != tc.want {
			t.Errorf("engineProcess(%q, %q) = %v, want %v", tc.comm, strings.ReplaceAll(tc.cmdline, "\x00", " "), got, tc.want)
		}
	}
}

// TestKillReferencing: of two processes naming the directory, the one
// whose comm is an engine's (a copy of sleep named runc) is killed and
// the other (sleep) is left alone.
func TestKillReferencing(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	runc := filepath.Join(dir, "runc")
	if err := os.WriteFile(runc, data, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(bin string) (*exec.Cmd, chan struct{}) {
		// The directory is named in argv[0], which sleep ignores.
		cmd := &exec.Cmd{Path: bin, Args: []string{dir + "/" + filepath.Base(bin), "600"}}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill() // our own child, by PID
			<-done
		})
		return cmd, done
	}
	engine, engineDone := start(runc)
	other, otherDone := start(sleep)
	// Until both have exec'd: comm is the test binary's before.
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range []struct {
		pid  int
		comm string
	}{{engine.Process.Pid, "runc"}, {other.Process.Pid, "sleep"}} {
		for {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c.pid))
			if strings.TrimSpace(string(b)) == c.comm {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %d: comm %q, want %q", c.pid, b, c.comm)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if err := killReferencing(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-engineDone:
	case <-time.After(10 * time.Second):
		t.Error("the engine process (comm runc) naming the directory was not killed")
	}
	select {
	case <-otherDone:
		t.Error("a process that is no engine's (sleep) was killed for naming the directory")
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSweepSkipsOthersDirectories: a leftover directory (its owner is
// gone) is cleaned up when it is root's; one of another user, with the
// same name and contents, and a symbolic link are not touched.
func TestSweepSkipsOthersDirectories(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Docker, "the sweep runs as root only; giving a directory to another user needs root")
	}
	base := t.TempDir()
	stale := func(name string, uid int) string {
		d := filepath.Join(base, dirPrefix+name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// PID 1 with another start time: its owner is gone.
		if err := os.WriteFile(filepath.Join(d, "owner"), []byte("1 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if start, err := procStartTime(1); err != nil || start == 1 {
		t.Skipf("PID 1's start time is %d (%v): cannot make an owner file of a gone process", start, err)
	}
	mine := stale("docker-mine", 0)
	theirs := stale("docker-theirs", 65534)
	target := t.TempDir()
	link := filepath.Join(base, dirPrefix+"docker-link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	msgs := sweepBases([]string{base}, 0)
	if _, err := os.Stat(mine); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("root's leftover %s was not removed (%v); swept %q", mine, err, msgs)
	}
	if _, err := os.Stat(filepath.Join(theirs, "owner")); err != nil {
		t.Errorf("another user's %s was cleaned up: %v", theirs, err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the symbolic link %s was removed: %v", link, err)
	}
	if len(msgs) != 1 || msgs[0] != mine {
		t.Errorf("swept %q, want only %s", msgs, mine)
	}
	// Not as another user, whatever it owns.
	if msgs := sweepBases([]string{base}, 65534); len(msgs) != 0 {
		t.Errorf("as euid 65534, swept %q", msgs)
	}
}

func TestForgetCgroup(t *testing.T) {
	dir := t.TempDir()
	if err := forgetCgroup(dir, "/rightsize-parent-x"); err != nil {
		t.Errorf("without a cgroups file: %v", err)
	}
	for _, p := range []string{"/rightsize-docker-ab", "/rightsize-parent-x", "/rightsize-parent-xy"} {
		if err := recordCgroup(dir, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := forgetCgroup(dir, "/rightsize-parent-x"); err != nil {
		t.Fatal(err)
	}
	if got, want := recordedCgroups(dir), []string{"/rightsize-docker-ab", "/rightsize-parent-xy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want %q", got, want)
	}
	if err := recordCgroup(dir, "/rightsize-parent-z"); err != nil {
		t.Fatal(err)
	}
	if got, want := recordedCgroups(dir), []string{"/rightsize-docker-ab", "/rightsize-parent-xy", "/rightsize-parent-z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %q, want %q", got, want)
	}
}

// TestParentCgroupExisting: a parent cgroup that exists already is not
// the harness's: ParentCgroup fails, and leaves neither a record of it
// (which Stop would remove, killing what runs in it) nor a directory of
// its own in the other hierarchy.
func TestParentCgroupExisting(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, testenv.Cgroup, "creating cgroups needs root")
	}
	cpu, err1 := v1Hierarchy("cpu")
	mem, err2 := v1Hierarchy("memory")
	if err := errors.Join(err1, err2); err != nil {
		testenv.SkipOrFail(t, testenv.Cgroup, err.Error())
	}
	e := &Engine{Kind: "docker", Dir: t.TempDir()}
	p := "/" + testenv.CgroupName("engine")
	// Someone else's: this test's, created in the memory hierarchy, so
	// that (where cpu and memory are mounted apart) the cpu directory is
	// made first and must be undone. MkdirCgroup records it for the
	// sweeps, so that a killed run does not leave it behind.
	theirs := filepath.Join(mem.point, p)
	testenv.MkdirCgroup(t, theirs)
	if got, err := e.parentCgroup(p, Limits{Memory: 64 << 20}); err == nil || !errors.Is(err, os.ErrExist) {
		t.Errorf("parentCgroup over an existing cgroup = %q, %v; want EEXIST", got, err)
	}
	if rec := recordedCgroups(e.Dir); len(rec) != 0 {
		t.Errorf("still recorded: %q", rec)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("the existing cgroup %s is gone: %v", theirs, err)
	}
	if b, err := os.ReadFile(filepath.Join(theirs, "memory.limit_in_bytes")); err == nil && strings.TrimSpace(string(b)) == "67108864" {
		t.Errorf("the existing cgroup's limit was written")
	}
	if _, err := os.Stat(filepath.Join(cpu.point, p)); cpu.point != mem.point && !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cpu directory made before the failure stays: %v", err)
	}
	// Stop removes nothing that is not recorded.
	if err := cleanupDir(e.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("cleanup removed the existing cgroup %s: %v", theirs, err)
	}
}
