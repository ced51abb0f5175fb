//go:build linux

package rootfs

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirFlags open a directory for listing; O_DIRECTORY refuses anything else
// with ENOTDIR, before any read, and O_NONBLOCK keeps the open from waiting.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY

// Dir is an open directory, listed again and again from its start. The zero
// value is not open.
type Dir struct {
	fd   int32  // descriptor + 1; 0: not open
	root Root   // the root it was opened in
	name string // inside the root; "" when opened by OpenDirBytes on the live system
}

// IsOpen reports whether d is an open directory.
func (d Dir) IsOpen() bool { return d.fd > 0 }

// Fd returns the descriptor, -1 when not open. A listing of /proc/self/fd
// shows it: a counter leaves it out.
func (d Dir) Fd() int { return int(d.fd) - 1 }

// Close closes the directory.
func (d Dir) Close() {
	if d.fd > 0 {
		_ = unix.Close(int(d.fd) - 1)
	}
}

// OpenDir opens the directory name below the root for listing. Anything
// but a directory is refused with an *Error whose Err wraps ErrNotRegular
// and names what the file is. The caller closes it.
func (r Root) OpenDir(name string) (Dir, error) {
	traced(r, "open", name)
	var fd int
	var err error
	if r.dir == "" {
		p := name
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		for {
			fd, err = unix.Openat(unix.AT_FDCWD, p, dirFlags, 0)
			if err != unix.EINTR {
				break
			}
		}
	} else {
		fd, err = r.openIn(name, dirFlags, true)
	}
	if err != nil {
		return Dir{}, r.dirError(name, err)
	}
	return Dir{fd: int32(fd) + 1, root: r, name: name}, nil
}

// OpenDirBytes is OpenDir for a path held in a NUL-terminated byte slice.
// On the live system it allocates nothing unless it fails; the Dir then
// does not know its name, and its errors name it by descriptor.
func (r Root) OpenDirBytes(name []byte) (Dir, error) {
	if len(name) == 0 || name[len(name)-1] != 0 {
		return Dir{}, &Error{Path: r.Join(string(name)), Err: fmt.Errorf("open: path not NUL-terminated")}
	}
	if r.dir != "" {
		return r.OpenDir(string(name[:len(name)-1]))
	}
	if trace.Load() != nil {
		traced(r, "open", string(name[:len(name)-1]))
	}
	fd, err := openatBytes(unix.AT_FDCWD, name, dirFlags)
	if err != nil {
		return Dir{}, r.dirError(string(name[:len(name)-1]), err)
	}
	return Dir{fd: int32(fd) + 1}, nil
}

func (r Root) dirError(name string, err error) error {
	if err == unix.ENOTDIR {
		if info, serr := r.stat(name, true); serr == nil && !info.IsDir() {
			return &Error{Path: r.Join(name), Err: fmt.Errorf("%w: it is %s, not a directory", ErrNotRegular, Kind(info.Mode))}
		}
	}
	return &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", err)}
}

// DirEntries lists a Dir: Next moves to the next entry ("." and ".." are
// left out), Name returns it. It is a value on the caller's stack; a
// listing allocates nothing.
type DirEntries struct {
	d     Dir
	buf   []byte
	n     int // bytes of buf filled by the last getdents64
	off   int // offset of the next record
	name  []byte
	typ   uint8
	err   error
	state uint8 // 0: not started, 1: listing, 2: done
}

// Entries lists d from its start with buf as the getdents64(2) buffer (at
// least 512 bytes; DirBufSize is a good size). Names returned by Name point
// into buf and are valid until the next call to Next.
func (d Dir) Entries(buf []byte) DirEntries { return DirEntries{d: d, buf: buf} }

// Next moves to the next entry and reports whether there is one. At the end
// or on an error it returns false; Err tells which.
func (e *DirEntries) Next() bool {
	if e.state == 2 {
		return false
	}
	if e.state == 0 {
		e.state = 1
		if !e.d.IsOpen() {
			return e.fail(fmt.Errorf("listing a directory that is not open"))
		}
		if len(e.buf) < 512 {
			return e.fail(fmt.Errorf("directory buffer of %d bytes is too small", len(e.buf)))
		}
		// Directories of procfs and other file systems start over at
		// offset 0.
		if _, err := unix.Seek(e.d.Fd(), 0, 0); err != nil {
			return e.fail(fmt.Errorf("rewind: %w", err))
		}
	}
	for {
		if e.off >= e.n {
			n, err := getdents(e.d.Fd(), e.buf)
			if err != nil {
				return e.fail(fmt.Errorf("getdents: %w", err))
			}
			if n == 0 {
				e.state = 2
				return false
			}
			e.n, e.off = n, 0
		}
		// struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16,
		// d_type u8, d_name NUL-terminated.
		rec := e.buf[e.off:e.n]
		if len(rec) < 19 {
			return e.fail(fmt.Errorf("getdents: short record"))
		}
		reclen := int(*(*uint16)(unsafe.Pointer(&rec[16])))
		if reclen < 19 || reclen > len(rec) {
			return e.fail(fmt.Errorf("getdents: bad record length %d", reclen))
		}
		e.off += reclen
		name := rec[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if len(name) == 0 || (name[0] == '.' && (len(name) == 1 || (len(name) == 2 && name[1] == '.'))) {
			continue
		}
		e.name, e.typ = name, rec[18]
		return true
	}
}

func (e *DirEntries) fail(err error) bool {
	e.err, e.state = &Error{Path: e.d.path(), Err: err}, 2
	return false
}

// path names the directory in errors.
func (d Dir) path() string {
	if d.name == "" {
		return fmt.Sprintf("directory (descriptor %d)", d.Fd())
	}
	return d.root.Join(d.name)
}

// join names a file below the directory, inside the root.
func (d Dir) join(name []byte) string {
	return d.name + "/" + string(name[:len(name)-1])
}

// OpenAt opens the regular file name below d: a relative path in a
// NUL-terminated byte slice, such as "1234/stat\x00" below /proc. On the live
// system it is one openat(2) relative to d and allocates nothing unless it
// fails; below another root the path is resolved from the root like Open
// does (d must have been opened with OpenDir there).
func (d Dir) OpenAt(name []byte) (File, error) {
	if len(name) < 2 || name[len(name)-1] != 0 || name[0] == '/' {
		return File{}, &Error{Path: d.path(), Err: fmt.Errorf("open: %q is not a relative NUL-terminated path", name)}
	}
	if d.root.dir != "" {
		return d.root.Open(d.join(name))
	}
	if !d.IsOpen() {
		return File{}, &Error{Path: d.path(), Err: fmt.Errorf("open below a directory that is not open")}
	}
	fd, err := openatBytes(d.Fd(), name, openFlags)
	if err != nil {
		return File{}, &Error{Path: d.path() + "/" + string(name[:len(name)-1]), Err: fmt.Errorf("open: %w", err)}
	}
	if _, err := checkRegular(fd); err != nil {
		_ = unix.Close(fd)
		return File{}, &Error{Path: d.path() + "/" + string(name[:len(name)-1]), Err: err}
	}
	return newFile(fd), nil
}

// ReadlinkAt reads the target of the symbolic link name below d (a
// relative, NUL-terminated path, such as "3\x00" below /proc/self/fd) into buf
// and returns its length; a target that fills buf is cut there. On the live
// system it allocates nothing unless it fails.
func (d Dir) ReadlinkAt(name []byte, buf []byte) (int, error) {
	if len(name) < 2 || name[len(name)-1] != 0 || name[0] == '/' {
		return 0, &Error{Path: d.path(), Err: fmt.Errorf("readlink: %q is not a relative NUL-terminated path", name)}
	}
	if d.root.dir != "" {
		t, err := d.root.Readlink(d.join(name))
		return copy(buf, t), err
	}
	if len(buf) == 0 {
		return 0, nil
	}
	for {
		r, _, errno := unix.Syscall6(unix.SYS_READLINKAT, uintptr(d.Fd()), uintptr(unsafe.Pointer(&name[0])),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, &Error{Path: d.path() + "/" + string(name[:len(name)-1]), Err: fmt.Errorf("readlink: %w", errno)}
		}
		return int(r), nil
	}
}

// Name returns the current entry's name, valid until the next Next.
func (e *DirEntries) Name() []byte { return e.name }

// IsDir reports whether the current entry is a directory, as far as the
// file system tells in the listing (procfs and most others do).
func (e *DirEntries) IsDir() bool { return e.typ == unix.DT_DIR }

// Err returns the error that ended the listing, or nil at its end.
func (e *DirEntries) Err() error { return e.err }

func getdents(fd int, buf []byte) (int, error) {
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		return n, err
	}
}
