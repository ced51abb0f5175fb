package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// The tests of issue 11: what capture writes where, files that are not
// files, symbolic links out of the root, signals and write errors.

// commandCmd runs this test binary as the rightsize command (see TestMain).
func commandCmd(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	// GORACE: a -race binary sleeps 1 s at exit by default, which the
	// signal tests would take for a slow exit.
	cmd.Env = append(append(os.Environ(), "RIGHTSIZE_TEST_MAIN=1", "GORACE=atexit_sleep_ms=0"), env...)
	return cmd
}

// exitCode returns the exit status of a finished command, -1 for a signal.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// dirNames lists a directory, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// mknod makes a special file: a FIFO, a socket or a character device (the
// last needs root).
func mknod(t *testing.T, name, kind string) {
	t.Helper()
	var err error
	switch kind {
	case "a FIFO":
		err = syscall.Mkfifo(name, 0o644)
	case "a socket":
		err = syscall.Mknod(name, syscall.S_IFSOCK|0o644, 0)
	case "a character device":
		if os.Geteuid() != 0 {
			t.Skip("making a device node needs root")
		}
		// /dev/zero: a read never ends.
		err = syscall.Mknod(name, syscall.S_IFCHR|0o644, int((1<<8)|5))
	case "a directory":
		err = os.Mkdir(name, 0o755)
	default:
		t.Fatalf("kind %q", kind)
	}
	if err != nil {
		t.Fatalf("make %s %s: %v", kind, name, err)
	}
}

// TestCaptureRefusesOutput: -o onto a symbolic link (whose target keeps
// its content), a device, a FIFO, a socket or a directory is refused with
// exit 1 and an error naming it, and nothing is left beside it.
func TestCaptureRefusesOutput(t *testing.T) {
	for _, kind := range []string{"a symbolic link", "a dangling symbolic link", "a character device", "a FIFO", "a socket", "a directory"} {
		t.Run(strings.ReplaceAll(kind, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.tar.gz")
			target := filepath.Join(dir, "target")
			const content = "precious, must stay\n"
			if err := os.WriteFile(target, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "a symbolic link":
				if err := os.Symlink(target, out); err != nil {
					t.Fatal(err)
				}
			case "a dangling symbolic link":
				if err := os.Symlink(filepath.Join(dir, "nowhere"), out); err != nil {
					t.Fatal(err)
				}
			default:
				mknod(t, out, kind)
			}
			before := dirNames(t, dir)
			var stdout, stderr bytes.Buffer
			code := run([]string{"capture", "--root", "testdata/trees/k8s-v1-burstable", "-o", out}, &stdout, &stderr)
			want := strings.TrimPrefix(kind, "a dangling ")
			if !strings.HasPrefix(want, "a ") {
				want = "a " + want
			}
			if code != 1 || !strings.Contains(stderr.String(), out) || !strings.Contains(stderr.String(), "it is "+want) {
				t.Errorf("exit %d, stderr %q; want 1 and an error naming %s as %s", code, stderr.String(), out, want)
			}
			if got := mustRead(t, target); got != content {
				t.Errorf("the link's target now holds %q", got)
			}
			if after := dirNames(t, dir); !equalStrings(before, after) {
				t.Errorf("directory changed: %q -> %q", before, after)
			}
			if fi, err := os.Lstat(out); err != nil || (kind == "a symbolic link" && fi.Mode()&os.ModeSymlink == 0) {
				t.Errorf("-o changed: %v %v", fi, err)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// TestCaptureKeepsFileOnFailure: a capture that fails (nothing to capture,
// too much content, too slow) leaves an existing -o untouched and no
// temporary file.
func TestCaptureKeepsFileOnFailure(t *testing.T) {
	for _, tt := range []struct {
		name, root, want string
		setup            func(t *testing.T)
	}{
		{"nothing", "testdata/trees/empty", "nothing to capture", nil},
		{"too large", "testdata/trees/k8s-v1-burstable", "more than 100 B", func(t *testing.T) {
			old := captureMaxBytes
			captureMaxBytes = 100
			t.Cleanup(func() { captureMaxBytes = old })
		}},
		{"too slow", "testdata/trees/k8s-v1-burstable", "did not finish within 50ms", func(t *testing.T) {
			old, oldHook := captureTimeout, captureHook
			captureTimeout = 50 * time.Millisecond
			captureHook = func(string) { time.Sleep(20 * time.Millisecond) }
			t.Cleanup(func() { captureTimeout, captureHook = old, oldHook })
		}},
	} {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "report.tar.gz")
			if err := os.WriteFile(out, []byte("the old capture\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"capture", "--root", tt.root, "-o", out}, &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), tt.want)
			}
			if got := mustRead(t, out); got != "the old capture\n" {
				t.Errorf("-o now holds %q", got)
			}
			if names := dirNames(t, dir); !equalStrings(names, []string{"report.tar.gz"}) {
				t.Errorf("left behind: %q", names)
			}
			// -o - writes nothing at all.
			stdout.Reset()
			if code := run([]string{"capture", "--root", tt.root, "-o", "-"}, &stdout, io.Discard); code != 1 || stdout.Len() != 0 {
				t.Errorf("-o -: exit %d, %d bytes on stdout", code, stdout.Len())
			}
		})
	}
}

// TestCaptureChargesEntries: the capture's bound counts a tar header
// (tarBlock) for every entry, not only file content, so that a tree of
// many empty links or directories is refused as a large file is: here
// 2,000 descriptor links against 256 KiB, and a cgroup 120 empty
// directories deep (the cgroup package allows 127) against 48 KiB, bounds
// the same trees with 10 of them fit in.
func TestCaptureChargesEntries(t *testing.T) {
	old := captureMaxBytes
	t.Cleanup(func() { captureMaxBytes = old })

	links := func(n int) string {
		root := filepath.Join(t.TempDir(), "tree")
		testenv.CopyTree(t, "testdata/trees/v2-docker-pid1", root)
		for i := 100; i < 100+n; i++ {
			if err := os.Symlink("pipe:[1]", filepath.Join(root, "proc/1/fd", fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	deep := func(levels int) string {
		leaf := strings.Repeat("/a", levels)
		root := treeWith(t, "v2-broken", map[string]string{"proc/self/cgroup": "0::" + leaf + "\n"})
		if err := os.MkdirAll(filepath.Join(root, "sys/fs/cgroup", filepath.FromSlash(leaf)), 0o755); err != nil {
			t.Fatal(err)
		}
		return root
	}
	for _, tt := range []struct {
		name string
		root string
		max  int64
		ok   bool
	}{
		{"10 links", links(10), 256 << 10, true},
		{"2000 links", links(2000), 256 << 10, false},
		{"10 directories", deep(10), 48 << 10, true},
		{"120 directories", deep(120), 48 << 10, false},
	} {
		captureMaxBytes = tt.max
		var stdout, stderr bytes.Buffer
		code := run([]string{"capture", "--root", tt.root, "-o", "-"}, &stdout, &stderr)
		refused := "more than " + fmtBytes(tt.max) + " (file contents, and 512 bytes for each file, link and directory)"
		switch {
		case tt.ok && code != 0:
			t.Errorf("%s: exit %d: %s", tt.name, code, stderr.String())
		case !tt.ok && (code != 1 || !strings.Contains(stderr.String(), refused) || stdout.Len() != 0):
			t.Errorf("%s: exit %d, %d bytes on stdout, stderr %q; want 1, nothing and %q", tt.name, code, stdout.Len(), stderr.String(), refused)
		}
	}
}

// TestCaptureReplacesAtomically: a successful capture replaces an existing
// file by a rename (a reader holding the old file still sees it whole),
// with mode 0644, and leaves no temporary file.
func TestCaptureReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.tar.gz")
	const old = "the old capture\n"
	if err := os.WriteFile(out, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"capture", "--root", "testdata/trees/k8s-v1-burstable", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if e := readArchive(t, []byte(mustRead(t, out))); e["proc/self/cgroup"] == "" {
		t.Errorf("the new archive lacks proc/self/cgroup")
	}
	if data, _ := io.ReadAll(held); string(data) != old {
		t.Errorf("the old file was changed in place: %q", data)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	if names := dirNames(t, dir); !equalStrings(names, []string{"report.tar.gz"}) {
		t.Errorf("left behind: %q", names)
	}
}

// TestCaptureFullDisk captures onto a 64 KiB tmpfs (mounted in a private
// mount namespace: the test re-runs itself under unshare -m) a tree whose
// archive does not fit: exit 1 with "no space left on device", the old
// file unchanged, no temporary file left.
func TestCaptureFullDisk(t *testing.T) {
	if os.Getenv("RIGHTSIZE_TEST_IN_MOUNTNS") == "1" {
		captureFullDiskInNS(t)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "-m", "--propagation", "private", self, "-test.run", "^TestCaptureFullDisk$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "RIGHTSIZE_TEST_IN_MOUNTNS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "unshare failed") || strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("no private mount namespace here: %s", out)
		}
		t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestCaptureFullDisk") {
		t.Fatalf("the inner test did not pass:\n%s", out)
	}
}

func captureFullDiskInNS(t *testing.T) {
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer syscall.Unmount(disk, syscall.MNT_DETACH)
	// A tree with 512 KiB of incompressible mountinfo (within the 16 MiB
	// bound of that file): its archive cannot fit in 64 KiB.
	root := filepath.Join(t.TempDir(), "tree")
	testenv.CopyTree(t, "testdata/trees/k8s-v1-burstable", root)
	noise := make([]byte, 512<<10)
	rand.Read(noise)
	f, err := os.OpenFile(filepath.Join(root, "proc/self/mountinfo"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "999 1 0:99 / /noise rw - tmpfs %x rw\n", noise)
	f.Close()

	out := filepath.Join(disk, "report.tar.gz")
	if err := os.WriteFile(out, []byte("the old capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"capture", "--root", root, "-o", out}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no space left on device") {
		t.Errorf("exit %d, stderr %q; want 1 and \"no space left on device\"", code, stderr.String())
	}
	if got := mustRead(t, out); got != "the old capture\n" {
		t.Errorf("-o now holds %q", got)
	}
	if names := dirNames(t, disk); !equalStrings(names, []string{"report.tar.gz"}) {
		t.Errorf("left behind on the full disk: %q", names)
	}
}

// TestStdoutFull: a write error on stdout (here /dev/full) ends every mode
// with exit 1 and one line on stderr.
func TestStdoutFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	root := "testdata/trees/k8s-v1-burstable"
	for _, args := range [][]string{
		{"--root", root},
		{"--root", root, "--json"},
		{"--root", root, "--watch", "100ms", "--count", "3"},
		{"--root", root, "--watch", "100ms", "--json"},
		{"capture", "--root", root, "-o", "-"},
		{"--version"},
		{"--help"},
		{},
	} {
		cmd := commandCmd(t, nil, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			code := exitCode(t, err)
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if code != 1 || !strings.Contains(last, "no space left on device") || !strings.HasPrefix(last, "rightsize") {
				t.Errorf("%q > /dev/full: exit %d, stderr %q; want exit 1 and the error", args, code, stderr.String())
			}
			for _, l := range lines[:len(lines)-1] {
				if !strings.Contains(l, "warning:") {
					t.Errorf("%q: more than one error line: %q", args, stderr.String())
				}
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%q > /dev/full did not end", args)
		}
	}
}

// startCommand starts the command with stdout to a pipe and waits for its
// first output (or for want in stderr when want is not "").
func startCommand(t *testing.T, env []string, args ...string) (*exec.Cmd, chan error, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	cmd := commandCmd(t, env, args...)
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, done, stdout, stderr
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor polls until cond holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitExit waits for the command to end within limit and returns its
// exit code and how long it took.
func waitExit(t *testing.T, done chan error, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case err := <-done:
		return exitCode(t, err), time.Since(start)
	case <-time.After(limit):
		t.Fatalf("the command did not end within %v of the signal", limit)
	}
	return 0, 0
}

// tempLeftovers lists the capture's temporary files in dir.
func tempLeftovers(t *testing.T, dir string) []string {
	var left []string
	for _, n := range dirNames(t, dir) {
		if strings.Contains(n, ".tmp-") {
			left = append(left, n)
		}
	}
	return left
}

// TestSignals: SIGINT and SIGTERM end --watch at once (exit 0) and a
// capture at once (exit 130, temporary file removed, old file kept); a
// capture that does not react is ended 1 s after the first signal, or at
// once by a second one, with exit 130 and its temporary file removed.
func TestSignals(t *testing.T) {
	root := "testdata/trees/k8s-v1-burstable"
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run("watch-"+sig.String(), func(t *testing.T) {
			cmd, done, stdout, _ := startCommand(t, nil, "--root", root, "--watch", "1h")
			waitFor(t, "the first view", func() bool { return strings.Contains(stdout.String(), "Environment") })
			cmd.Process.Signal(sig)
			if code, took := waitExit(t, done, 3*time.Second); code != 0 || took > time.Second {
				t.Errorf("exit %d after %v; want 0 at once", code, took)
			}
		})
	}

	// capture interrupts a capture with signals SIGINTs and checks the
	// exit: 130, within [minTook, maxTook] of the first signal, stderr
	// saying how it ended, no temporary file left, the old file kept.
	capture := func(t *testing.T, env []string, signals int, minTook, maxTook time.Duration, say string) {
		dir := t.TempDir()
		out := filepath.Join(dir, "report.tar.gz")
		if err := os.WriteFile(out, []byte("the old capture\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd, done, _, stderr := startCommand(t, env, "capture", "--root", root, "-o", out)
		waitFor(t, "the temporary file", func() bool { return len(tempLeftovers(t, dir)) > 0 })
		time.Sleep(50 * time.Millisecond)
		for i := 0; i < signals; i++ {
			if i > 0 {
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGINT)
		}
		code, took := waitExit(t, done, 5*time.Second)
		if code != 130 || took > maxTook || took < minTook {
			t.Errorf("exit %d after %v; want 130 within [%v, %v] (stderr %q)", code, took, minTook, maxTook, stderr.String())
		}
		if !strings.Contains(stderr.String(), say) {
			t.Errorf("stderr %q does not say %q", stderr.String(), say)
		}
		if left := tempLeftovers(t, dir); len(left) > 0 {
			t.Errorf("temporary files left: %q", left)
		}
		if got := mustRead(t, out); got != "the old capture\n" {
			t.Errorf("-o now holds %q", got)
		}
	}
	t.Run("capture-slow", func(t *testing.T) {
		// 500 ms per file: a capture of a minute, which stops at the
		// signal by itself.
		capture(t, []string{"RIGHTSIZE_TEST_CAPTURE_DELAY=500ms"}, 1, 0, 900*time.Millisecond, "rightsize capture: interrupted; nothing written")
	})
	t.Run("capture-stuck", func(t *testing.T) {
		// A capture that ignores the signal: ended 1 s after it.
		capture(t, []string{"RIGHTSIZE_TEST_CAPTURE_STALL=1"}, 1, 900*time.Millisecond, 3*time.Second, "rightsize: interrupted")
	})
	t.Run("capture-stuck-twice", func(t *testing.T) {
		// The second signal ends it at once.
		capture(t, []string{"RIGHTSIZE_TEST_CAPTURE_STALL=1"}, 2, 0, 900*time.Millisecond, "rightsize: interrupted")
	})
}

// nonRegular lists files the command reads, in a v1 and a v2 tree, with the
// kinds put in their place. view says that the view names the file in a
// warning; capture that the capture does.
var nonRegular = []struct {
	tree, file    string
	view, capture bool
}{
	{"k8s-v1-burstable", "/proc/self/cgroup", true, true},
	{"k8s-v1-burstable", "/proc/self/mountinfo", true, true},
	{"k8s-v1-burstable", "/proc/self/status", true, true},
	{"k8s-v1-burstable", "/proc/self/environ", true, true},
	{"k8s-v1-burstable", "/proc/self/oom_score_adj", true, true},
	{"k8s-v1-burstable", "/proc/1/environ", true, true},
	{"k8s-v1-burstable", "/proc/meminfo", true, true},
	{"hybrid-docker", "/proc/sys/kernel/osrelease", true, true},
	{"k8s-v1-burstable", "/etc/hosts", true, true},
	{"k8s-v1-burstable", "/sys/devices/system/cpu/online", true, true},
	{"k8s-v1-burstable", "/run/.containerenv", true, true},
	{"k8s-v1-burstable", "/run/systemd/container", true, true},
	{"k8s-v1-burstable", "/.dockerenv", false, true}, // its existence is the signal
	{"k8s-v1-burstable", "/var/run/secrets/kubernetes.io/serviceaccount/namespace", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpu,cpuacct/cpu.shares", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpu,cpuacct/cpu.stat", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/cpuset/cpuset.effective_cpus", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/memory/memory.limit_in_bytes", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/memory/memory.usage_in_bytes", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/memory/memory.stat", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/memory/memory.failcnt", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/pids/pids.max", true, true},
	{"k8s-v1-burstable", "/sys/fs/cgroup/pids/pids.current", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/cpu.max", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/cpu.weight", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/cpu.stat", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/cpuset.cpus.effective", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.max", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.current", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.stat", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.events", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.peak", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.swap.max", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/pids.max", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/pids.current", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/cpu.pressure", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/memory.pressure", true, true},
	{"k8s-v2-guaranteed", "/sys/fs/cgroup/io.pressure", true, true},
	{"v2-host-nested", "/sys/fs/cgroup/a/memory.high", true, true},
	{"v2-host-nested", "/sys/fs/cgroup/a/cpu.max", true, true},
	// The process table (proc/self is a link to proc/1 in this tree).
	{"v2-docker-pid1", "/proc/self/stat", true, true},
	{"v2-docker-pid1", "/proc/self/limits", true, true},
	{"v2-docker-pid1", "/proc/self/task/1/children", false, true}, // copied; the table finds children by the stat walk
	{"v2-docker-pid1", "/proc/58/stat", true, true},
	{"v2-docker-pid1", "/proc/self/fdinfo/3", false, true}, // read for pidfds, not for the table
}

// runBounded runs the command in this process, failing the test when it
// does not return within the bound.
func runBounded(t *testing.T, bound time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		done <- result{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(bound):
		t.Fatalf("rightsize %q did not return within %v", args, bound)
	}
	return 0, "", ""
}

// TestNonRegularFiles puts a FIFO, a socket, a directory and /dev/zero in
// place of every file the command reads, one at a time: the
// view and the JSON finish within a bound and exit 0, with a warning naming
// the file and what it is; the capture skips the file with a warning.
func TestNonRegularFiles(t *testing.T) {
	for _, tt := range nonRegular {
		for _, kind := range []string{"a FIFO", "a socket", "a directory", "a character device"} {
			t.Run(tt.tree+tt.file+"/"+strings.ReplaceAll(kind, " ", "_"), func(t *testing.T) {
				t.Parallel()
				root := filepath.Join(t.TempDir(), "tree")
				testenv.CopyTree(t, filepath.Join("testdata/trees", tt.tree), root)
				p := filepath.Join(root, filepath.FromSlash(tt.file))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				os.Remove(p)
				mknod(t, p, kind)

				wantUnknown := map[string]string{
					"/proc/self/cgroup": "cgroup.layout", "/proc/self/mountinfo": "cgroup.layout",
					"/proc/self/status": "cpu.cpus", "/proc/meminfo": "memory.hostTotal",
					"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "cpu.limit", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "cpu.limit",
					"/sys/fs/cgroup/cpu,cpuacct/cpu.shares": "cpu.request", "/sys/fs/cgroup/cpu,cpuacct/cpu.stat": "cpu.throttling",
					"/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage": "cpu.usageSeconds", "/sys/fs/cgroup/cpuset/cpuset.effective_cpus": "", // see below
					"/sys/fs/cgroup/memory/memory.limit_in_bytes": "memory.limit", "/sys/fs/cgroup/memory/memory.usage_in_bytes": "memory.usage",
					"/sys/fs/cgroup/memory/memory.stat": "memory.workingSet", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes": "memory.swapLimit",
					"/sys/fs/cgroup/pids/pids.max": "pids.limit", "/sys/fs/cgroup/pids/pids.current": "pids.current",
					"/sys/fs/cgroup/cpu.max": "cpu.limit", "/sys/fs/cgroup/cpu.weight": "cpu.request", "/sys/fs/cgroup/memory.max": "memory.limit",
					"/sys/fs/cgroup/memory.current": "memory.usage", "/sys/fs/cgroup/memory.swap.max": "memory.swapLimit",
					"/sys/fs/cgroup/cpu.pressure": "pressure.cpu", "/sys/fs/cgroup/io.pressure": "pressure.io",
					"/sys/fs/cgroup/a/memory.high": "memory.high", "/sys/fs/cgroup/a/cpu.max": "cpu.limit",
					"/proc/self/stat": "processes", "/proc/self/limits": "processes.fdLimit",
					"/proc/58/stat": "processes.zombies",
				}[tt.file]
				for _, asJSON := range []bool{false, true} {
					args := []string{"--root", root}
					if asJSON {
						args = append(args, "--json")
					}
					code, stdout, stderr := runBounded(t, 10*time.Second, args...)
					if code != 0 || stderr != "" {
						t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
					}
					if asJSON {
						doc := checkReport(t, []byte(stdout))
						if wantUnknown != "" && !strings.Contains(fmt.Sprint(doc["unknown"]), wantUnknown) {
							t.Errorf("unknown %v lacks %s", doc["unknown"], wantUnknown)
						}
						if wantUnknown == "cpu.limit" || wantUnknown == "cpu.cpus" || wantUnknown == "cgroup.layout" {
							if !strings.Contains(fmt.Sprint(doc["unknown"]), "go.recommendedGOMAXPROCS") {
								t.Errorf("unknown %v lacks go.recommendedGOMAXPROCS", doc["unknown"])
							}
						}
						if strings.Contains(tt.file, "/cpuset.") {
							// The Reader falls back to the tree's
							// Cpus_allowed_list and decides from it:
							// shown, not unknown.
							cpu, goRec := doc["cpu"].(map[string]any), doc["go"].(map[string]any)
							if cpu["cpus"] == nil || cpu["cpusSource"] != "proc" || goRec["recommendedGOMAXPROCS"] == nil {
								t.Errorf("cpus %v from %v, recommendedGOMAXPROCS %v; want the Reader's fallback", cpu["cpus"], cpu["cpusSource"], goRec["recommendedGOMAXPROCS"])
							}
							if u := fmt.Sprint(doc["unknown"]); strings.Contains(u, "cpu.cpus") || strings.Contains(u, "go.recommendedGOMAXPROCS") {
								t.Errorf("unknown %v lists what the Reader knows", u)
							}
						}
					}
					if tt.view && !warns(stdout, tt.file, kind) {
						t.Errorf("%q: no warning naming %s as %s:\n%s", args, tt.file, kind, stdout)
					}
					if strings.Contains(stdout, root) {
						t.Errorf("%q: the output names the root %s", args, root)
					}
				}

				out := filepath.Join(t.TempDir(), "c.tar.gz")
				code, _, stderr := runBounded(t, 10*time.Second, "capture", "--root", root, "-o", out)
				if code != 0 {
					t.Fatalf("capture: exit %d: %s", code, stderr)
				}
				if tt.capture && !strings.Contains(stderr, "warning: skipped "+tt.file+": ") || tt.capture && !strings.Contains(stderr, kind) {
					t.Errorf("capture: no warning skipping %s (%s): %s", tt.file, kind, stderr)
				}
				entries := readArchive(t, []byte(mustRead(t, out)))
				if _, ok := entries[strings.TrimPrefix(tt.file, "/")]; ok {
					t.Errorf("the archive has %s", tt.file)
				}
			})
		}
	}
}

// warns reports whether out has a warning naming file and kind.
func warns(out, file, kind string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, file) && strings.Contains(l, kind) {
			return true
		}
	}
	return false
}

// TestEscapingLinks builds a tree whose files are symbolic links out of
// the root, absolute and relative, to a canary outside it: the canary is
// never read (not in any output, warning or archive), the archive records
// the links as links, and the unpacked archive is as safe.
func TestEscapingLinks(t *testing.T) {
	base := t.TempDir()
	const canary = "987654321987" // also a plausible limit, were it read
	canaryFile := filepath.Join(base, "canary")
	if err := os.WriteFile(canaryFile, []byte(canary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "tree")
	testenv.CopyTree(t, "testdata/trees/k8s-v1-burstable", root)
	links := map[string]string{
		"etc/hosts":                                  canaryFile,            // absolute, out of the root
		"proc/meminfo":                               "../../canary",        // relative, out of the root
		"run/.containerenv":                          "/../../../../canary", // ".." above "/"
		"proc/self/oom_score_adj":                    "../../../canary",
		"proc/sys/kernel/osrelease":                  canaryFile,
		"sys/devices/system/cpu/online":              "../../../../../canary",
		"proc/self/environ":                          canaryFile,
		"sys/fs/cgroup/memory/memory.limit_in_bytes": canaryFile,
		"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "../../../../canary",
		"run/systemd/container":                      "/etc/hosts", // a link to a link
	}
	for name, target := range links {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.Remove(p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, s string) {
		t.Helper()
		if strings.Contains(s, canary) {
			t.Errorf("%s contains the canary:\n%s", what, s)
		}
	}
	for _, args := range [][]string{{"--root", root}, {"--root", root, "--json"}, {"--root", root, "--watch", "100ms", "--count", "2", "--json"}} {
		code, stdout, stderr := runBounded(t, 10*time.Second, args...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		check(fmt.Sprintf("%q", args), stdout+stderr)
		switch {
		case len(args) == 3 && args[2] == "--json":
			checkReport(t, []byte(stdout))
		case len(args) > 3:
			for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
				checkReport(t, []byte(l))
			}
		}
	}
	out := filepath.Join(base, "c.tar.gz")
	code, _, stderr := runBounded(t, 10*time.Second, "capture", "--root", root, "-o", out)
	if code != 0 {
		t.Fatalf("capture: exit %d: %s", code, stderr)
	}
	check("capture's stderr", stderr)
	data := []byte(mustRead(t, out))
	check("the archive", string(tarBytes(t, data)))
	entries := readArchive(t, data)
	for name, target := range links {
		if got := entries[name]; got != "-> "+target {
			t.Errorf("%s = %q in the archive, want the link -> %s", name, got, target)
		}
	}
	// The unpacked archive has the same links: still nothing from outside.
	dir := unpack(t, entries)
	code, stdout, stderr := runBounded(t, 10*time.Second, "--root", dir, "--json")
	if code != 0 {
		t.Fatalf("--root on the unpacked capture: exit %d: %s", code, stderr)
	}
	check("--root on the unpacked capture", stdout)
	checkReport(t, []byte(stdout))
}

// TestCgroupLinksCaptured: a cgroup file that is a symbolic link inside
// the root is recorded in the archive as that link (never followed), and
// the replay reads through it as the tree does.
func TestCgroupLinksCaptured(t *testing.T) {
	root := filepath.Join(t.TempDir(), "tree")
	testenv.CopyTree(t, "testdata/trees/k8s-v1-burstable", root)
	for name, target := range map[string]string{
		"sys/fs/cgroup/memory/memory.limit_in_bytes": "memory.usage_in_bytes",
		"sys/fs/cgroup/pids/pids.max":                "../memory/memory.failcnt",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "c.tar.gz")
	code, _, stderr := runBounded(t, 10*time.Second, "capture", "--root", root, "-o", out)
	if code != 0 {
		t.Fatalf("capture: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("capture warns: %s", stderr)
	}
	entries := readArchive(t, []byte(mustRead(t, out)))
	if got := entries["sys/fs/cgroup/memory/memory.limit_in_bytes"]; got != "-> memory.usage_in_bytes" {
		t.Errorf("memory.limit_in_bytes = %q in the archive, want the link", got)
	}
	if got := entries["sys/fs/cgroup/pids/pids.max"]; got != "-> ../memory/memory.failcnt" {
		t.Errorf("pids.max = %q in the archive, want the link", got)
	}
	want := runJSON(t, "--root", root, "--json")
	if got := runJSON(t, "--root", unpack(t, entries), "--json"); got != want {
		t.Errorf("the replay differs from the tree:\n--- replay\n%s\n--- tree\n%s", got, want)
	}
}

// TestWatchCountersGoDown rewrites a tree's counters between samples,
// going down, standing still and jumping: the rates never show Inf, NaN, a
// negative value or "of 0 periods", and the JSON lines stay valid.
func TestWatchCountersGoDown(t *testing.T) {
	root := filepath.Join(t.TempDir(), "tree")
	testenv.CopyTree(t, "testdata/trees/k8s-v1-burstable", root)
	cg := filepath.Join(root, "sys/fs/cgroup/cpu,cpuacct")
	steps := []struct{ usage, periods, throttled, secs int64 }{
		{98765432100, 120, 30, 4500000000},
		{1000, 5, 0, 0},            // reset: a new cgroup
		{1000, 5, 0, 0},            // standing still
		{1000, 5, 3, 1000},         // throttled, no periods
		{500, 4, 4, 10},            // everything down
		{9000000000, 1000, 10, 50}, // up again
	}
	write := func(i int) {
		s := steps[i%len(steps)]
		os.WriteFile(filepath.Join(cg, "cpuacct.usage"), []byte(fmt.Sprintf("%d\n", s.usage)), 0o644)
		os.WriteFile(filepath.Join(cg, "cpu.stat"), []byte(fmt.Sprintf("nr_periods %d\nnr_throttled %d\nthrottled_time %d\n", s.periods, s.throttled, s.secs)), 0o644)
	}
	for _, asJSON := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for i := 0; ctx.Err() == nil; i++ {
				write(i)
				time.Sleep(37 * time.Millisecond)
			}
		}()
		args := []string{"--root", root, "--watch", "100ms", "--count", "12"}
		if asJSON {
			args = append(args, "--json")
		}
		var out bytes.Buffer
		code := runContext(context.Background(), args, &out, io.Discard)
		cancel()
		if code != 0 {
			t.Fatalf("%q: exit %d", args, code)
		}
		checkNoBadNumbers(t, out.String())
		if asJSON {
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				checkReport(t, []byte(l))
			}
		}
	}
}
