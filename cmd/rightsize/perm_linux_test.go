package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
)

// TestPermissionDenied runs the command as nobody on a tree with unreadable
// files: the result is degraded, with warnings naming the files, and the
// command still exits 0.
func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the command as another user")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}

	// A world-readable copy of a tree, and of the test binary: nobody can
	// enter neither the test's temporary directory nor go's build cache.
	dir, err := os.MkdirTemp("", "rightsize-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "tree")
	testenv.CopyTree(t, "testdata/trees/k8s-v1-burstable", root)
	bin := filepath.Join(dir, "rightsize.test")
	copyFile(t, self, bin, 0o755)
	for _, f := range []string{
		"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us",
		"sys/fs/cgroup/memory/memory.usage_in_bytes",
		"proc/self/status",
	} {
		if err := os.Chmod(filepath.Join(root, f), 0); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "--root", root, "--json")
	cmd.Env = append(os.Environ(), "RIGHTSIZE_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\nstdout %s\nstderr %s", cmd.Args, err, stdout.String(), stderr.String())
	}
	checkReport(t, stdout.Bytes())
	var doc report
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cpu.limit", "cpu.cpus", "memory.usage", "memory.workingSet", "go.recommendedGOMAXPROCS"} {
		if !contains(doc.Unknown, f) {
			t.Errorf("unknown %q lacks %s", doc.Unknown, f)
		}
	}
	for _, f := range []string{"/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "/sys/fs/cgroup/memory/memory.usage_in_bytes", "/proc/self/status"} {
		found := false
		for _, w := range doc.Warnings {
			found = found || strings.HasPrefix(w, f+": ") && strings.Contains(w, "permission denied")
		}
		if !found {
			t.Errorf("no permission-denied warning naming %s in %q", f, doc.Warnings)
		}
	}
	// What was readable is still there.
	if doc.Memory.Limit == nil || *doc.Memory.Limit != 268435456 || doc.PIDs.Current == nil || doc.Environment.Kubernetes == nil {
		t.Errorf("readable values lost: %s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}
