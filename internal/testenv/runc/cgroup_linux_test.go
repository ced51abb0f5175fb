package runc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestHierarchyDir(t *testing.T) {
	host := hierarchy{point: "/sys/fs/cgroup/cpu", root: "/"}
	bound := hierarchy{point: "/sys/fs/cgroup/cpu", root: "/docker/abc"}
	for _, c := range []struct {
		h      hierarchy
		path   string
		want   string
		wantOK bool
	}{
		{host, "/kubepods/pod1", "/sys/fs/cgroup/cpu/kubepods/pod1", true},
		{host, "/", "/sys/fs/cgroup/cpu", true},
		{bound, "/docker/abc", "/sys/fs/cgroup/cpu", true},
		{bound, "/docker/abc/x", "/sys/fs/cgroup/cpu/x", true},
		{bound, "/docker/abcd", "", false},
		{bound, "/other", "", false},
	} {
		got, ok := c.h.dir(c.path)
		if got != c.want || ok != c.wantOK {
			t.Errorf("%+v dir(%q) = %q, %v; want %q, %v", c.h, c.path, got, ok, c.want, c.wantOK)
		}
	}
}

func TestChain(t *testing.T) {
	hs := []hierarchy{
		{point: "/c/cpu", root: "/", path: "/"},
		{point: "/c/memory", root: "/", path: "/process_api/x"},
	}
	anc, leaves := chain(hs, func(h hierarchy) string { return containerCgroup(h, "/kubepods/burstable/pod1/ctr", "id") })
	wantAnc := []string{
		"/c/cpu/kubepods", "/c/memory/kubepods",
		"/c/cpu/kubepods/burstable", "/c/memory/kubepods/burstable",
		"/c/cpu/kubepods/burstable/pod1", "/c/memory/kubepods/burstable/pod1",
	}
	if !reflect.DeepEqual(anc, wantAnc) {
		t.Errorf("ancestors %q, want %q", anc, wantAnc)
	}
	if want := []string{"/c/cpu/kubepods/burstable/pod1/ctr", "/c/memory/kubepods/burstable/pod1/ctr"}; !reflect.DeepEqual(leaves, want) {
		t.Errorf("leaves %q, want %q", leaves, want)
	}
	// runc's default: the container ID below runc's own cgroup.
	anc, leaves = chain(hs, func(h hierarchy) string { return containerCgroup(h, "", "rightsize-1") })
	if want := []string{"/c/memory/process_api", "/c/memory/process_api/x"}; !reflect.DeepEqual(anc, want) {
		t.Errorf("default ancestors %q, want %q", anc, want)
	}
	if want := []string{"/c/cpu/rightsize-1", "/c/memory/process_api/x/rightsize-1"}; !reflect.DeepEqual(leaves, want) {
		t.Errorf("default leaves %q, want %q", leaves, want)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/x\011y\012z\134`: "/x\ty\nz\\", `/plain`: "/plain", `/bad\04`: `/bad\04`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAcquireOwnFailsUnrecorded: a ParentCgroup directory that cannot be
// created (one that exists already, which is not the harness's; one
// whose parent is missing) leaves no record in the registry, so that no
// sweep removes it; the existing one stays after the lease's release,
// which sweeps the registry.
func TestAcquireOwnFailsUnrecorded(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "the harness's registry in "+lockDir+" needs root")
	}
	// Plain directories do here: acquire creates with mkdir, and the
	// sweep removes with rmdir.
	base := t.TempDir()
	theirs := filepath.Join(base, UniqueName("theirs"))
	if err := os.Mkdir(theirs, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(base, "no-parent", UniqueName("pod"))
	for _, c := range []struct {
		dir  string
		want error
	}{{theirs, os.ErrExist}, {missing, os.ErrNotExist}} {
		lease, err := acquire(nil, []string{c.dir})
		if !errors.Is(err, c.want) {
			t.Errorf("acquire(%s) = %v, want %v", c.dir, err, c.want)
		}
		if lease == nil {
			t.Fatalf("acquire(%s) returned no lease", c.dir)
		}
		if len(lease.created) != 0 {
			t.Errorf("acquire(%s): created %q", c.dir, lease.created)
		}
		if wasRecorded(c.dir) {
			t.Errorf("%s is recorded after its mkdir failed", c.dir)
		}
		if err := lease.release(); err != nil {
			t.Errorf("release: %v", err)
		}
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("the existing %s was removed: %v", theirs, err)
	}
	// One that acquire creates is recorded, and removed by the caller.
	mine := filepath.Join(base, UniqueName("mine"))
	lease, err := acquire(nil, []string{mine})
	if err != nil {
		t.Fatal(err)
	}
	if len(lease.created) != 1 || lease.created[0] != mine || !wasRecorded(mine) {
		t.Errorf("created %q, recorded %v; want %s, recorded", lease.created, wasRecorded(mine), mine)
	}
	if err := removeTree(mine); err != nil {
		t.Error(err)
	}
	if err := lease.release(); err != nil {
		t.Error(err)
	}
	if wasRecorded(mine) {
		t.Errorf("%s is still recorded after its removal and the sweep", mine)
	}
}
