package engine

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
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

// TestImageDirInTempBase: the image's directory goes where the engines'
// do and the sweep looks, /tmp when the temporary directory is too long
// for sockets.
func TestImageDirInTempBase(t *testing.T) {
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 50))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	dir, err := newImageDir()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if filepath.Dir(dir) != tempBase() || tempBase() != "/tmp" || !strings.HasPrefix(filepath.Base(dir), dirPrefix+"image-") {
		t.Errorf("image directory %s, want %s%s* in %s (TMPDIR %s)", dir, dirPrefix, "image-", tempBase(), long)
	}
}

// fakeTB records how startFailed ends a test; Skipf and Fatalf end the
// goroutine as testing's do.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartFailed: only an engine that cannot run here skips; any other
// failure to start fails the test.
func TestStartFailed(t *testing.T) {
	for _, k := range []string{testenv.EnvAll, testenv.EnvName(testenv.Docker)} {
		t.Setenv(k, "")
	}
	run := func(err error) *fakeTB {
		f := &fakeTB{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			startFailed(f, "docker", testenv.Docker, err)
		}()
		<-done
		return f
	}
	if f := run(fmt.Errorf("%w: docker: dockerd not found", ErrUnavailable)); !f.skipped || f.failed {
		t.Errorf("unavailable engine: skipped %v, failed %v (%s)", f.skipped, f.failed, f.msg)
	}
	if f := run(errors.New("dockerd did not start: dockerd exited: exit status 1")); f.skipped || !f.failed || !strings.Contains(f.msg, "exit status 1") {
		t.Errorf("broken start: skipped %v, failed %v (%s)", f.skipped, f.failed, f.msg)
	}
	t.Setenv(testenv.EnvName(testenv.Docker), "1")
	if f := run(fmt.Errorf("%w: docker: dockerd not found", ErrUnavailable)); f.skipped || !f.failed {
		t.Errorf("unavailable but required: skipped %v, failed %v (%s)", f.skipped, f.failed, f.msg)
	}
}
