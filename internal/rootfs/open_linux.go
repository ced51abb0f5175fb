//go:build linux

package rootfs

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openFlags never block: O_NONBLOCK makes opening a FIFO return at once
// (it is then refused by type), O_NOCTTY keeps a terminal device from
// becoming the controlling terminal.
const openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY

// maxLinks is the kernel's MAXSYMLINKS: how many symbolic links one
// resolution may follow before it fails with ELOOP.
const maxLinks = 40

var eofError = io.EOF

// File is an open regular file, read again and again at offset 0. The zero
// value is not an open file. It is four bytes, so that a handle can keep
// many in an array.
type File struct {
	fd int32 // descriptor + 1; 0: not open
}

// maxOpenRetries bounds the retries of an openat2 that a concurrent
// rename made fail with EAGAIN or a signal interrupted.
const maxOpenRetries = 64

func newFile(fd int) File { return File{fd: int32(fd) + 1} }

// IsOpen reports whether f is an open file.
func (f File) IsOpen() bool { return f.fd > 0 }

// Fd returns the descriptor, -1 when not open.
func (f File) Fd() int { return int(f.fd) - 1 }

// Close closes the descriptor.
func (f File) Close() {
	if f.fd > 0 {
		_ = unix.Close(int(f.fd) - 1)
	}
}

// ReadAt0 reads from offset 0 into buf: cgroupfs and procfs regenerate a
// file's content on a read at offset 0, so a descriptor kept open serves
// fresh values. It allocates nothing. The caller decides what a full
// buffer means (usually: too large).
func (f File) ReadAt0(buf []byte) (int, error) {
	for {
		n, err := unix.Pread(int(f.fd)-1, buf, 0)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}

func (f File) read(b []byte) (int, error) {
	for {
		n, err := unix.Read(int(f.fd)-1, b)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			// Only a non-regular file answers EAGAIN, and those are
			// refused at open; never spin on one.
			return 0, fmt.Errorf("read would block")
		}
		return n, err
	}
}

func modeOf(st *unix.Stat_t) fs.FileMode {
	m := fs.FileMode(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFREG:
	default:
		m |= fs.ModeIrregular
	}
	return m
}

// checkRegular fstats an open descriptor and refuses anything but a
// regular file.
func checkRegular(fd int) (Info, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Info{}, fmt.Errorf("fstat: %w", err)
	}
	info := Info{Mode: modeOf(&st), Size: st.Size}
	if !info.Mode.IsRegular() {
		return info, notRegular(info.Mode)
	}
	return info, nil
}

// open opens name for reading and checks that it is a regular file.
func (r Root) open(name string) (File, Info, error) {
	traced(r, "open", name)
	var fd int
	var err error
	if r.dir == "" {
		fd, err = openLive(name)
	} else {
		fd, err = r.openIn(name, openFlags, true)
	}
	if err != nil {
		if err == unix.ENXIO || err == unix.ENODEV || err == unix.EOPNOTSUPP {
			// Opening a socket fails with ENXIO, some devices with
			// ENODEV: say what the file is.
			if info, serr := r.stat(name, true); serr == nil && !info.IsRegular() {
				return File{}, info, &Error{Path: r.Join(name), Err: notRegular(info.Mode)}
			}
		}
		return File{}, Info{}, &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", err)}
	}
	info, err := checkRegular(fd)
	if err != nil {
		_ = unix.Close(fd)
		return File{}, info, &Error{Path: r.Join(name), Err: err}
	}
	return newFile(fd), info, nil
}

// OpenBytes is Open for a path held in a NUL-terminated byte slice, for
// callers that must not allocate (a handle opening its files at first
// use). On the live system opening allocates nothing unless it fails.
func (r Root) OpenBytes(name []byte) (File, error) {
	if len(name) == 0 || name[len(name)-1] != 0 {
		return File{}, &Error{Path: r.Join(string(name)), Err: fmt.Errorf("open: path not NUL-terminated")}
	}
	if r.dir != "" {
		return r.Open(string(name[:len(name)-1]))
	}
	if trace.Load() != nil {
		traced(r, "open", string(name[:len(name)-1]))
	}
	fd, err := openatBytes(unix.AT_FDCWD, name, openFlags)
	if err != nil {
		if err == unix.ENXIO || err == unix.ENODEV || err == unix.EOPNOTSUPP {
			return r.Open(string(name[:len(name)-1])) // names what the file is
		}
		return File{}, &Error{Path: string(name[:len(name)-1]), Err: fmt.Errorf("open: %w", err)}
	}
	if _, err := checkRegular(fd); err != nil {
		_ = unix.Close(fd)
		return File{}, &Error{Path: string(name[:len(name)-1]), Err: err}
	}
	return newFile(fd), nil
}

// openatBytes is openat(2) on a NUL-terminated byte path, without the
// string conversion that unix.Openat allocates.
func openatBytes(dirfd int, path []byte, flags int) (int, error) {
	for {
		r, _, errno := unix.Syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(&path[0])), uintptr(flags), 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return -1, errno
		}
		return int(r), nil
	}
}

func openLive(name string) (int, error) {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	for {
		fd, err := unix.Openat(unix.AT_FDCWD, name, openFlags, 0)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func (r Root) stat(name string, follow bool) (Info, error) {
	traced(r, "stat", name)
	var st unix.Stat_t
	var err error
	if r.dir == "" {
		p := name
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		if follow {
			err = unix.Stat(p, &st)
		} else {
			err = unix.Lstat(p, &st)
		}
	} else {
		var fd int
		fd, err = r.openIn(name, unix.O_PATH|unix.O_CLOEXEC, follow)
		if err == nil {
			err = unix.Fstat(fd, &st)
			_ = unix.Close(fd)
		}
	}
	if err != nil {
		return Info{}, &Error{Path: r.Join(name), Err: fmt.Errorf("stat: %w", err)}
	}
	return Info{Mode: modeOf(&st), Size: st.Size}, nil
}

func (r Root) readlink(name string) (string, error) {
	var buf [4096]byte
	var n int
	var err error
	if r.dir == "" {
		p := name
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		n, err = unix.Readlink(p, buf[:])
	} else {
		var fd int
		fd, err = r.openIn(name, unix.O_PATH|unix.O_CLOEXEC, false)
		if err == nil {
			n, err = unix.Readlinkat(fd, "", buf[:])
			_ = unix.Close(fd)
		}
	}
	if err != nil {
		return "", &Error{Path: r.Join(name), Err: fmt.Errorf("readlink: %w", err)}
	}
	return string(buf[:n]), nil
}

// openat2 support: 0 unknown, 1 works, 2 missing (ENOSYS on kernels
// before 5.6, EPERM where a seccomp filter forbids it). Decided at the
// first non-live open.
var haveOpenat2 atomic.Int32

// forceWalk makes every non-live open take the component walk, so that
// tests cover it on kernels that have openat2.
var forceWalk atomic.Bool

// ForceWalk makes every open below a root other than "/" take the
// component walk instead of openat2, until restore is called: for tests,
// so that both resolutions are covered on kernels that have openat2.
func ForceWalk() (restore func()) {
	old := forceWalk.Swap(true)
	return func() { forceWalk.Store(old) }
}

// openIn opens name below the root with flags, resolving it as if the root
// were "/". follow says whether a final symbolic link is followed.
func (r Root) openIn(name string, flags int, follow bool) (int, error) {
	rootfd, err := unix.Open(r.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("root %s: %w", r.dir, err)
	}
	defer unix.Close(rootfd)
	if !forceWalk.Load() && haveOpenat2.Load() != 2 {
		rel := strings.TrimLeft(name, "/")
		if rel == "" {
			rel = "."
		}
		how := unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
		if !follow {
			how.Flags |= unix.O_NOFOLLOW
		}
		for retries := 0; ; retries++ {
			fd, err := unix.Openat2(rootfd, rel, &how)
			switch err {
			case nil:
				haveOpenat2.Store(1)
				return fd, nil
			case unix.EINTR, unix.EAGAIN:
				// EAGAIN: a rename raced the lookup; try again, a bounded
				// number of times (a tree renamed without end must not
				// make the open spin).
				if retries < maxOpenRetries {
					continue
				}
				return -1, err
			case unix.ENOSYS, unix.EPERM:
				if haveOpenat2.Load() == 1 {
					return -1, err // a real EPERM on a kernel that has openat2
				}
				haveOpenat2.Store(2)
			default:
				return -1, err
			}
			break
		}
	}
	return walk(rootfd, name, flags, follow)
}

// walk resolves name below rootfd one component at a time, each opened
// with O_NOFOLLOW relative to the directory before it: a symbolic link is
// read and its target spliced into the rest of the path (an absolute one
// restarts at the root), and ".." pops a directory but never above the
// root. It is the fallback for kernels without openat2.
func walk(rootfd int, name string, flags int, follow bool) (int, error) {
	var stack []int // open directories below the root; the last is current
	defer func() {
		for _, fd := range stack {
			_ = unix.Close(fd)
		}
	}()
	cur := func() int {
		if len(stack) == 0 {
			return rootfd
		}
		return stack[len(stack)-1]
	}
	todo := splitPath(name)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(stack) > 0 {
				_ = unix.Close(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
			}
			continue
		}
		last := len(todo) == 0
		fd, err := unix.Openat(cur(), c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			_ = unix.Close(fd)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			if last && !follow {
				if flags&unix.O_PATH != 0 {
					return fd, nil
				}
				_ = unix.Close(fd)
				return -1, unix.ELOOP
			}
			if links++; links > maxLinks {
				_ = unix.Close(fd)
				return -1, unix.ELOOP
			}
			var buf [4096]byte
			n, err := unix.Readlinkat(fd, "", buf[:])
			_ = unix.Close(fd)
			if err != nil {
				return -1, err
			}
			target := string(buf[:n])
			if strings.HasPrefix(target, "/") {
				for _, d := range stack {
					_ = unix.Close(d)
				}
				stack = stack[:0]
			}
			todo = append(splitPath(target), todo...)
			continue
		case unix.S_IFDIR:
			if !last {
				stack = append(stack, fd)
				continue
			}
		default:
			if !last {
				_ = unix.Close(fd)
				return -1, unix.ENOTDIR
			}
		}
		// The final component, not a link: open it as asked. O_NOFOLLOW
		// keeps a link swapped in since the check from being followed.
		if flags&unix.O_PATH != 0 {
			return fd, nil
		}
		_ = unix.Close(fd)
		return unix.Openat(cur(), c, flags|unix.O_NOFOLLOW, 0)
	}
	// The path named the root, or a directory reached through "..".
	return unix.Openat(cur(), ".", flags, 0)
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
