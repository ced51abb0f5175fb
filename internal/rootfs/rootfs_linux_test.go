//go:build linux

package rootfs

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// canary is the content of a file outside every test root: it must never
// come back from a read below a root.
const canary = "CANARY-outside-the-root-7f3a"

// bothResolutions runs fn with openat2 (where the kernel has it) and with
// the component walk.
func bothResolutions(t *testing.T, fn func(t *testing.T)) {
	t.Run("openat2", fn)
	t.Run("walk", func(t *testing.T) {
		defer ForceWalk()()
		fn(t)
	})
}

// escapeTree builds dir/outside/canary and a root dir/root whose files try
// every way out: absolute and relative links, links to directories above,
// link chains and loops.
func escapeTree(t *testing.T) (root string, outside string) {
	t.Helper()
	dir := t.TempDir()
	outside = filepath.Join(dir, "outside")
	root = filepath.Join(dir, "root")
	must(t, os.MkdirAll(outside, 0o755))
	must(t, os.WriteFile(filepath.Join(outside, "canary"), []byte(canary), 0o644))
	for _, d := range []string{"proc/self", "etc", "sys/fs/cgroup/cpu", "a/b"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "etc/inside"), []byte("inside"), 0o644))
	links := map[string]string{
		"etc/abs":             filepath.Join(outside, "canary"), // absolute host path
		"etc/rel":             "../../outside/canary",           // climbs out
		"etc/dotdot":          "../../../../../../../../outside/canary",
		"etc/updir":           "../..", // a directory above the root
		"etc/toinside":        "/etc/inside",
		"etc/chain1":          "chain2",
		"etc/chain2":          "/etc/rel",
		"etc/loop1":           "loop2",
		"etc/loop2":           "loop1",
		"proc/self/mountinfo": filepath.Join(outside, "canary"),
		"a/b/up":              "../../../outside",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(root, name)))
	}
	return root, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfinedToRoot(t *testing.T) {
	root, _ := escapeTree(t)
	r := New(root)
	bothResolutions(t, func(t *testing.T) {
		for _, name := range []string{
			"/etc/abs", "/etc/rel", "/etc/dotdot", "/etc/updir/outside/canary", "/etc/chain1",
			"/proc/self/mountinfo", "/a/b/up/canary", "/../outside/canary", "../../outside/canary",
			"/sys/fs/cgroup/cpu/../../../../../outside/canary",
		} {
			data, err := r.ReadFile(name, 1<<20)
			if strings.Contains(string(data), canary) {
				t.Fatalf("%s: read the canary outside the root", name)
			}
			if err == nil {
				t.Errorf("%s: read %q, want an error (the file does not exist inside the root)", name, data)
				continue
			}
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Path, root) {
				t.Errorf("%s: error %v does not name a file below the root", name, err)
			}
			// Stat resolves like open: what the read found missing inside
			// the root, stat does not find either.
			if _, serr := r.Stat(name); serr == nil && errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: stat found what the read did not (%v)", name, err)
			}
		}
		// Links that stay inside resolve as if the root were "/".
		if data, err := r.ReadFile("/etc/toinside", 100); err != nil || string(data) != "inside" {
			t.Errorf("/etc/toinside = %q, %v; want the file inside the root", data, err)
		}
		// "/etc/updir" is "../.." from /etc: the root itself.
		if info, err := r.Stat("/etc/updir"); err != nil || !info.IsDir() {
			t.Errorf("/etc/updir: %v %v, want the root directory", info, err)
		}
		if _, err := r.ReadFile("/etc/loop1", 100); !errors.Is(err, unix.ELOOP) {
			t.Errorf("link loop: %v, want ELOOP", err)
		}
		if target, err := r.Readlink("/etc/abs"); err != nil || !strings.HasSuffix(target, "outside/canary") {
			t.Errorf("Readlink = %q, %v", target, err)
		}
		if info, err := r.Lstat("/etc/abs"); err != nil || info.Mode&fs.ModeSymlink == 0 {
			t.Errorf("Lstat of a link = %v, %v; want a link", info, err)
		}
	})
}

// specials creates, inside dir, one of each kind of file that is not a
// regular file.
func specials(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fifo := filepath.Join(dir, "fifo")
	must(t, unix.Mkfifo(fifo, 0o644))
	out["fifo"] = "a FIFO"
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	out["sock"] = "a socket"
	must(t, os.Mkdir(filepath.Join(dir, "dir"), 0o755))
	out["dir"] = "a directory"
	if os.Getuid() == 0 {
		// /dev/zero's numbers: a read would never end.
		must(t, unix.Mknod(filepath.Join(dir, "zero"), unix.S_IFCHR|0o644, int(unix.Mkdev(1, 5))))
		out["zero"] = "a character device"
		must(t, unix.Mknod(filepath.Join(dir, "blk"), unix.S_IFBLK|0o644, int(unix.Mkdev(7, 200))))
		out["blk"] = "a block device"
	}
	return out
}

func TestRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	kinds := specials(t, dir)
	check := func(t *testing.T, r Root, name, kind string) {
		t.Helper()
		start := time.Now()
		var errs []error
		_, err := r.ReadFile(name, 1<<20)
		errs = append(errs, err)
		var buf [64]byte
		_, err = r.ReadInto(name, buf[:])
		errs = append(errs, err)
		_, err = r.OpenStream(name, 1<<20)
		errs = append(errs, err)
		_, err = r.Open(name)
		errs = append(errs, err)
		nul := append([]byte(r.Join(name)), 0)
		if !r.IsLive() {
			nul = append([]byte(name), 0)
		}
		_, err = r.OpenBytes(nul)
		errs = append(errs, err)
		for i, err := range errs {
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s (call %d): %v, want ErrNotRegular", name, i, err)
				continue
			}
			if !strings.Contains(err.Error(), kind) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s (call %d): %q does not name the file and %q", name, i, err, kind)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
	for name, kind := range kinds {
		check(t, New("/"), filepath.Join(dir, name), kind)
		bothResolutions(t, func(t *testing.T) { check(t, New(dir), "/"+name, kind) })
	}
	// A link inside the root to a FIFO is refused as a FIFO too.
	must(t, os.Symlink("fifo", filepath.Join(dir, "tofifo")))
	bothResolutions(t, func(t *testing.T) { check(t, New(dir), "/tofifo", "a FIFO") })
}

func TestBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	must(t, err)
	must(t, f.Truncate(1<<30)) // 1 GB, sparse
	f.Close()
	small := filepath.Join(dir, "small")
	must(t, os.WriteFile(small, []byte(strings.Repeat("x", 100)), 0o644))

	for _, r := range []Root{New("/"), New(dir)} {
		name := big
		if !r.IsLive() {
			name = "/big"
		}
		start := time.Now()
		if _, err := r.ReadFile(name, 1<<20); !errors.Is(err, ErrTooLarge) {
			t.Errorf("ReadFile of 1 GB: %v, want ErrTooLarge", err)
		}
		var buf [4096]byte
		if _, err := r.ReadInto(name, buf[:]); !errors.Is(err, ErrTooLarge) {
			t.Errorf("ReadInto of 1 GB: %v, want ErrTooLarge", err)
		}
		if _, err := r.OpenStream(name, 64<<20); !errors.Is(err, ErrTooLarge) {
			t.Errorf("OpenStream of 1 GB: %v, want ErrTooLarge", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("refusing a 1 GB file took %v", d)
		}
	}
	r := New(dir)
	if _, err := r.ReadFile("/small", 99); !errors.Is(err, ErrTooLarge) {
		t.Errorf("100 bytes with a 99-byte bound: %v", err)
	}
	if data, err := r.ReadFile("/small", 100); err != nil || len(data) != 100 {
		t.Errorf("100 bytes with a 100-byte bound: %d, %v", len(data), err)
	}
	var buf [100]byte
	if n, err := r.ReadInto("/small", buf[:]); err != nil || n != 100 {
		t.Errorf("ReadInto exactly full: %d, %v", n, err)
	}
	// A file stat already shows too large is refused at open.
	s, err := r.OpenStream("/small", 60)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("stream of a file stat shows too large: %v", err)
	}
	if s != nil {
		s.Close()
	}
	// A stream stops at its bound even when stat cannot tell: a live
	// kernel file reports size 0.
	s, err = New("/").OpenStream("/proc/self/smaps", 100)
	if err == nil {
		_, err = io.ReadAll(s)
		s.Close()
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("stream of a live file past its bound: %v", err)
	}
	s, err = r.OpenStream("/small", 100)
	must(t, err)
	data, err := io.ReadAll(s)
	s.Close()
	if err != nil || len(data) != 100 {
		t.Errorf("stream of exactly its bound: %d, %v", len(data), err)
	}
}

func TestLiveKernelFiles(t *testing.T) {
	r := New("/")
	// A seq_file of many records (smaps: dozens of mappings) comes about a
	// page per read, whatever the buffer: a short read is not its end.
	// Read through a stream with a large buffer, it must come whole.
	st, err := r.OpenStream("/proc/self/smaps", 64<<20)
	must(t, err)
	var whole []byte
	chunk := make([]byte, 64<<10)
	for {
		n, err := st.Read(chunk)
		whole = append(whole, chunk[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	if len(whole) <= 2*os.Getpagesize() || !strings.HasSuffix(string(whole), "\n") || !strings.Contains(string(whole), "[stack]") {
		t.Errorf("/proc/self/smaps through a stream: %d bytes, not the whole file (it has a [stack] mapping near its end)", len(whole))
	}
	var big [1 << 20]byte
	if n, err := r.ReadInto("/proc/self/smaps", big[:]); err != nil || n <= 2*os.Getpagesize() {
		t.Errorf("/proc/self/smaps through ReadInto: %d bytes, %v", n, err)
	}
	data, err := r.ReadFile("/proc/self/mountinfo", 64<<20)
	if err != nil || len(data) == 0 {
		t.Fatalf("mountinfo: %d bytes, %v", len(data), err)
	}
	f, err := r.Open("/proc/self/cgroup")
	must(t, err)
	defer f.Close()
	var buf [8192]byte
	n, err := f.ReadAt0(buf[:])
	if err != nil || n == 0 {
		t.Fatalf("ReadAt0: %d, %v", n, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := f.ReadAt0(buf[:]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadAt0 allocates %v times", allocs)
	}
	path := []byte("/proc/self/cgroup\x00")
	allocs = testing.AllocsPerRun(100, func() {
		f, err := r.OpenBytes(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	})
	if allocs != 0 {
		t.Errorf("OpenBytes on the live root allocates %v times", allocs)
	}
}

func TestMissingAndErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	r := New(dir)
	bothResolutions(t, func(t *testing.T) {
		_, err := r.ReadFile("/proc/self/cgroup", 100)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("missing file: %v", err)
		}
		if want := filepath.Join(dir, "proc/self/cgroup"); !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
		if r.Exists("/proc") {
			t.Error("Exists of a missing directory")
		}
	})
	if got := r.Unroot("open " + filepath.Join(dir, "proc/x") + ": boom"); got != "open /proc/x: boom" {
		t.Errorf("Unroot = %q", got)
	}
}
