package proctable_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rightsize/rightsize/internal/proctable"
	"github.com/rightsize/rightsize/procfs"
)

// procfs's init fills every hook, each with the function it names: the
// fixture trees of procfs (PID 1 with a zombie child 57 and a live child
// 58 it holds a pidfd for; one tree with children files, one without)
// tell them apart. The functions themselves are tested in procfs.
func TestHooks(t *testing.T) {
	if proctable.PID == nil || proctable.HasChildrenFiles == nil || proctable.ZombieChildren == nil || proctable.Pidfds == nil ||
		proctable.ParseChildren == nil || proctable.ParseFdinfoPid == nil || proctable.IsPidfdLink == nil {
		t.Fatal("procfs did not set every hook")
	}
	for _, tree := range []string{"../../procfs/testdata/proctable", "../../procfs/testdata/proctable-nochildren"} {
		s, err := procfs.NewFS(tree).NewScanner()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if pid, cf := proctable.PID(s), proctable.HasChildrenFiles(s); pid != 1 || cf != (tree == "../../procfs/testdata/proctable") {
			t.Errorf("%s: PID %d, children files %v", tree, pid, cf)
		}
		if z, err := proctable.ZombieChildren(s, nil); err != nil || !reflect.DeepEqual(z, []int{57}) {
			t.Errorf("%s: zombie children %v, %v", tree, z, err)
		}
		if p, err := proctable.Pidfds(s, nil); err != nil || !reflect.DeepEqual(p, []int{58}) {
			t.Errorf("%s: pidfds %v, %v", tree, p, err)
		}
	}
	if got, err := proctable.ParseChildren([]byte("4211 4212\n"), nil); err != nil || !reflect.DeepEqual(got, []int{4211, 4212}) {
		t.Errorf("ParseChildren: %v, %v", got, err)
	}
	if _, err := proctable.ParseChildren([]byte("1 x"), nil); !errors.Is(err, procfs.ErrMalformed) {
		t.Errorf("ParseChildren of a bad file: %v, want ErrMalformed", err)
	}
	if pid, ok := proctable.ParseFdinfoPid([]byte("pos:\t0\nPid:\t4211\n")); !ok || pid != 4211 {
		t.Errorf("ParseFdinfoPid: %d, %v", pid, ok)
	}
	if !proctable.IsPidfdLink([]byte("anon_inode:[pidfd]")) || proctable.IsPidfdLink([]byte("anon_inode:[eventfd]")) {
		t.Error("IsPidfdLink")
	}
}
