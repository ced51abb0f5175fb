package runc

import (
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
