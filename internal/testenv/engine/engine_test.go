package engine

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestContainerArgs(t *testing.T) {
	e := &Engine{Kind: "podman", Image: "localhost/img:1", runDefaults: []string{"--network", "none", "--cgroup-parent", "/rightsize-podman-x"}}
	name, args := e.containerArgs("run", RunSpec{Flags: []string{"--cpus", "1.5"}, Env: []string{"A=b"}, Args: []string{"/service", "-serve"}})
	if !strings.HasPrefix(name, "rightsize-") || len(name) != len("rightsize-")+12 {
		t.Errorf("name %q, want rightsize-<12 hex>", name)
	}
	want := []string{"run", "--rm", "--network", "none", "--cgroup-parent", "/rightsize-podman-x", "--name", name, "--env", "A=b", "--cpus", "1.5", "localhost/img:1", "/service", "-serve"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args\n%q\nwant\n%q", args, want)
	}
	// A flag of the spec replaces the default (also in --flag=value form).
	_, args = e.containerArgs("create", RunSpec{Name: "rightsize-x", Flags: []string{"--cgroup-parent=/rightsize-parent-y"}})
	want = []string{"create", "--network", "none", "--name", "rightsize-x", "--cgroup-parent=/rightsize-parent-y", "localhost/img:1"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("args\n%q\nwant\n%q", args, want)
	}
}

func TestIsHexIDAndLastLine(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	for s, want := range map[string]bool{id: true, id[:63]: false, strings.ToUpper(id): false, id[:63] + "g": false} {
		if got := isHexID(s); got != want {
			t.Errorf("isHexID(%q) = %v", s, got)
		}
	}
	if got := lastLine("Unable to find image\n" + id + "\n"); got != id {
		t.Errorf("lastLine = %q", got)
	}
}

func TestWriteRootfs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, "rootfs.tar")
	if err := writeRootfs(tarPath, map[string]string{"/service": bin}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+os.FileMode(h.Mode).String())
		if h.Name == "service" {
			if b, _ := io.ReadAll(tr); string(b) != "binary" {
				t.Errorf("service holds %q", b)
			}
		}
	}
	sort.Strings(got)
	// os.FileMode of tar's mode bits: the permission bits (the sticky bit
	// of /tmp, 01000 in tar, is not os.ModeSticky).
	want := []string{"etc/ -rwxr-xr-x", "service -rwxr-xr-x", "tmp/ -rwxrwxrwx"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %q, want %q", got, want)
	}
}

func TestReadLines(t *testing.T) {
	var got []string
	readLines(strings.NewReader("a\r\nb\n\nlast without newline"), func(s string) { got = append(got, s) })
	want := []string{"a", "b", "", "last without newline"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
}

func TestSharedRefcount(t *testing.T) {
	starts, stops := 0, 0
	s := &shared[int]{stop: func(*int) error { stops++; return nil }}
	start := func() (*int, error) { starts++; v := starts; return &v, nil }
	a, first, _ := s.acquire(start)
	b, again, _ := s.acquire(start)
	if !first || again || a != b || starts != 1 {
		t.Fatalf("two holders: first %v again %v same %v starts %d", first, again, a == b, starts)
	}
	s.release()
	if stops != 0 {
		t.Fatal("stopped while held")
	}
	s.release()
	if stops != 1 {
		t.Fatalf("stops %d after the last release", stops)
	}
	c, first, _ := s.acquire(start)
	if !first || *c != 2 {
		t.Errorf("after a stop, acquire must start again: first %v value %d", first, *c)
	}
	s.release()

	boom := errors.New("boom")
	f := &shared[int]{stop: func(*int) error { return nil }}
	if _, _, err := f.acquire(func() (*int, error) { return nil, boom }); err != boom {
		t.Fatalf("err %v", err)
	}
	called := false
	if _, _, err := f.acquire(func() (*int, error) { called = true; return new(int), nil }); err != boom || called || f.failed() != boom {
		t.Errorf("a failure to start must be remembered: err %v, started again %v", err, called)
	}
}

func TestWaitLine(t *testing.T) {
	c := &Container{exited: make(chan struct{}), notify: make(chan struct{})}
	go func() {
		for _, s := range []string{"one", "two", "three"} {
			time.Sleep(5 * time.Millisecond)
			c.add(s)
		}
	}()
	l, err := c.WaitLine(5*time.Second, func(l Line) bool { return l.Text == "two" })
	if err != nil || l.Text != "two" || l.At.IsZero() {
		t.Fatalf("WaitLine = %+v, %v", l, err)
	}
	if l, err = c.WaitLine(5*time.Second, nil); err != nil || l.Text != "three" {
		t.Fatalf("next line = %+v, %v; want three (one was passed over, not returned again)", l, err)
	}
	if _, err = c.WaitLine(20*time.Millisecond, nil); err == nil || errors.Is(err, ErrOutputEnded) {
		t.Fatalf("no more lines: err %v, want a timeout", err)
	}
	c.add("last")
	close(c.exited)
	if l, err = c.WaitLine(time.Second, nil); err != nil || l.Text != "last" {
		t.Fatalf("a line before the end = %+v, %v", l, err)
	}
	if _, err = c.WaitLine(time.Second, nil); !errors.Is(err, ErrOutputEnded) {
		t.Fatalf("after the end: err %v, want ErrOutputEnded", err)
	}
	if got := len(c.Lines()); got != 4 {
		t.Errorf("Lines has %d lines, want 4", got)
	}
}
