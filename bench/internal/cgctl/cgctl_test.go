package cgctl_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/bench/internal/cgctl"
	"github.com/rightsize/rightsize/bench/internal/testroot"
)

func TestCPUList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
	}{{"0", []int{0}}, {"0-1", []int{0, 1}}, {"0-2,5,7-8", []int{0, 1, 2, 5, 7, 8}}, {"", nil}} {
		got, err := cgctl.ParseList(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseList(%q) = %v, %v", c.in, got, err)
		}
		if c.in != "" && cgctl.FormatList(got) != c.in {
			t.Errorf("FormatList(%v) = %q", got, cgctl.FormatList(got))
		}
	}
	for _, bad := range []string{"a", "3-1", "1-x", "1,"} {
		if _, err := cgctl.ParseList(bad); err == nil {
			t.Errorf("ParseList(%q): no error", bad)
		}
	}
}

// TestCreateStartCleanup makes a limited group, starts a process in it
// from its first instruction, reads the counters, and checks that
// CleanupAll kills the process and removes every directory.
func TestCreateStartCleanup(t *testing.T) {
	h := testroot.Host(t)
	g, err := h.Create(cgctl.Spec{Name: "test", Quota: 0.5, Shares: 4096, MemLimit: 64 << 20, CPUs: h.CPUs[:1]})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range g.Dirs() {
		if !strings.Contains(filepath.Base(d), "rightsize") {
			t.Errorf("name without rightsize: %s", d)
		}
	}
	// The child reports its own cgroup: it must already be in g when it
	// starts.
	cmd := exec.Command("/bin/sh", "-c", "cat /proc/self/cgroup; exec sleep 60")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(cmd); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := out.Read(buf)
	if !strings.Contains(string(buf[:n]), filepath.Base(g.Dirs()[0])) {
		t.Errorf("child's /proc/self/cgroup does not show the group:\n%s", buf[:n])
	}
	found := false
	for _, p := range g.Procs() { // cat may not have been reaped yet
		found = found || p == cmd.Process.Pid
	}
	if !found {
		t.Errorf("procs %v, started %d", g.Procs(), cmd.Process.Pid)
	}
	if !h.V2 {
		b, _ := os.ReadFile(filepath.Join(g.CPU, "cpu.cfs_quota_us"))
		if q, _ := strconv.Atoi(strings.TrimSpace(string(b))); q != 50000 {
			t.Errorf("quota %q", b)
		}
	}
	if _, err := g.ReadCPU(); err != nil {
		t.Error(err)
	}
	if _, err := g.ReadMem(); err != nil {
		t.Error(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if errs := cgctl.CleanupAll(); len(errs) != 0 {
		t.Fatal(errs)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("process still running after CleanupAll")
	}
	for _, d := range g.Dirs() {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still exists", d)
		}
	}
	testroot.NothingLeft(t)
}
