// Package rootfs is rightsize's one file layer: every file the library and
// the command read, in /proc, in cgroupfs or elsewhere, is opened here.
//
// rightsize runs in the init of every program that imports it, so a file
// that is not what it should be must never hang, crash or mislead that
// program. Three rules hold for every access:
//
//   - Confined to its root. A Root other than "/" (a fixture tree, an
//     unpacked capture) is a world of its own: a path is resolved as if
//     the root were "/", so ".." stops at the root and a symbolic link,
//     absolute or relative, never leads out of it. Linux 5.6+ does this in
//     the kernel (openat2(2) with RESOLVE_IN_ROOT); older kernels get a
//     walk that opens one component at a time with O_NOFOLLOW and resolves
//     each link by hand, with the kernel's limit of 40 links.
//   - Never blocks. Files are opened with O_NONBLOCK and O_NOCTTY and
//     anything but a regular file (a FIFO, a socket, a device, a
//     directory) is refused with an error naming the file and what it is.
//     Real /proc and cgroupfs files are regular files.
//   - Bounded. Every read has a byte limit: a whole-file read refuses a
//     file larger than its buffer with ErrTooLarge, and a stream stops at
//     its limit with ErrTooLarge, so /dev/zero or a 1 GB file costs a
//     bounded time and memory.
//
// Outside Linux a captured tree is read under the same rules, with the one
// limit open_other.go states (the check and the open are two steps).
//
// Errors are *Error: the file (with the root prefix, so a person can find
// it) and the problem. The hot path, File.ReadAt0 on a descriptor opened
// once, allocates nothing.
package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
)

// Live is the root of the live system.
const Live = "/"

var (
	// ErrTooLarge is wrapped when a file exceeds the bound of its read.
	ErrTooLarge = errors.New("file too large")
	// ErrNotRegular is wrapped when a path names something other than a
	// regular file: a FIFO, a socket, a device or a directory, any of which
	// could block a read forever or never end.
	ErrNotRegular = errors.New("not a regular file")
	// ErrNotSupported is returned where the system has no such files.
	ErrNotSupported = errors.New("not supported on this platform")
)

// Error names a file and what went wrong with it. Path carries the root
// prefix: it is the file as it exists on this machine. Err is the cause:
// errors.Is sees through it to ErrTooLarge, ErrNotRegular, fs.ErrNotExist,
// fs.ErrPermission or a parser's sentinel.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Root reads files below a directory. The zero value is the live system.
type Root struct {
	dir string // cleaned; "" means Live
}

// New returns a Root for dir; "" and "/" are the live system. dir is made
// absolute so that every path in an error names the file unambiguously.
func New(dir string) Root {
	if dir == "" || dir == Live {
		return Root{}
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	dir = filepath.Clean(dir)
	if dir == Live {
		return Root{}
	}
	return Root{dir: dir}
}

// Dir returns the root directory ("/" for the live system).
func (r Root) Dir() string {
	if r.dir == "" {
		return Live
	}
	return r.dir
}

// IsLive reports whether r is the live system. Only then may a caller use
// live equivalents of files (os.Environ, sched_getaffinity).
func (r Root) IsLive() bool { return r.dir == "" }

// Join returns the path of name (a path inside the root, such as
// "/proc/self/cgroup") on this machine, for messages. It does not resolve
// links: the file read may be elsewhere inside the root.
func (r Root) Join(name string) string {
	// Clean as if the root were "/": ".." stops there, as it does when
	// the file is opened, so a message never names a file outside.
	name = path.Clean("/" + filepath.ToSlash(name))
	if r.dir == "" {
		return filepath.FromSlash(name)
	}
	return filepath.Join(r.dir, filepath.FromSlash(name))
}

// Unroot removes the root prefix from the paths in msg, so that a message
// reads the same for a live system and for its capture.
func (r Root) Unroot(msg string) string {
	if r.dir == "" {
		return msg
	}
	return strings.ReplaceAll(msg, r.dir+string(filepath.Separator), "/")
}

// trace, when set, is called with every file a Root opens or stats. It
// exists for the benchmarks, which measure the cost of just opening and
// reading the files the library reads, and for tests; an atomic load per
// open is its whole cost.
var trace atomic.Pointer[func(op, path string)]

// Trace calls fn with "open" or "stat" and the path on this machine of
// every file opened or examined through this package until stop is called.
// Only one trace runs at a time.
func Trace(fn func(op, path string)) (stop func()) {
	trace.Store(&fn)
	return func() { trace.Store(nil) }
}

func traced(r Root, op, name string) {
	if fn := trace.Load(); fn != nil {
		(*fn)(op, r.Join(name))
	}
}

// Info describes a file.
type Info struct {
	Mode fs.FileMode // type bits and permissions, as fs.FileMode
	Size int64
}

// IsRegular reports whether the file is a regular file.
func (i Info) IsRegular() bool { return i.Mode.IsRegular() }

// IsDir reports whether the file is a directory.
func (i Info) IsDir() bool { return i.Mode.IsDir() }

// Kind names the type of a file for messages: "a FIFO", "a socket", "a
// character device", "a block device", "a directory", "a symbolic link".
func Kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "an irregular file"
}

func notRegular(m fs.FileMode) error {
	return fmt.Errorf("%w: it is %s", ErrNotRegular, Kind(m))
}

func tooLarge(max int64) error {
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
}

// ReadFile reads a whole regular file of at most max bytes (max > 0).
func (r Root) ReadFile(name string, max int) ([]byte, error) {
	f, info, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info.Size > int64(max) {
		return nil, &Error{Path: r.Join(name), Err: tooLarge(int64(max))}
	}
	size := int(info.Size) + 1
	if size < 512 {
		size = 512
	}
	if size > max+1 {
		size = max + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if len(buf) > max {
				return nil, &Error{Path: r.Join(name), Err: tooLarge(int64(max))}
			}
			grow := cap(buf) * 2
			if grow > max+1 {
				grow = max + 1
			}
			buf = append(make([]byte, 0, grow), buf...)
		}
		n, err := f.read(buf[len(buf):cap(buf)])
		if err != nil {
			return nil, &Error{Path: r.Join(name), Err: fmt.Errorf("read: %w", err)}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if len(buf) > max {
		return nil, &Error{Path: r.Join(name), Err: tooLarge(int64(max))}
	}
	return buf, nil
}

// ReadHead reads at most n bytes from the start of a regular file: for
// files that may be large but whose first line is all that matters (a
// host's /etc/hosts can hold megabytes of block lists).
func (r Root) ReadHead(name string, n int) ([]byte, error) {
	f, _, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k := 0
	for k < n {
		m, err := f.read(buf[k:])
		if err != nil {
			return nil, &Error{Path: r.Join(name), Err: fmt.Errorf("read: %w", err)}
		}
		if m == 0 {
			break
		}
		k += m
	}
	return buf[:k], nil
}

// ReadInto reads a whole regular file into buf and returns its length. A
// file that does not fit is refused with ErrTooLarge. It allocates nothing
// when it succeeds.
func (r Root) ReadInto(name string, buf []byte) (int, error) {
	f, info, err := r.open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if info.Size > int64(len(buf)) {
		return 0, &Error{Path: r.Join(name), Err: tooLarge(int64(len(buf)))}
	}
	n, err := f.readFull(buf)
	if err != nil {
		return 0, &Error{Path: r.Join(name), Err: err}
	}
	return n, nil
}

// ReadIntoBytes is ReadInto for a path held in a NUL-terminated byte slice
// (see OpenBytes): on the live system it allocates nothing unless it
// fails. A file larger than buf is refused with ErrTooLarge.
func (r Root) ReadIntoBytes(name, buf []byte) (int, error) {
	f, err := r.OpenBytes(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := f.readFull(buf)
	if err != nil {
		return 0, &Error{Path: r.Join(string(name[:len(name)-1])), Err: err}
	}
	return n, nil
}

// Stream is a bounded reader over one open file.
type Stream struct {
	f    File
	left int64 // bytes still allowed
	max  int64
	eof  bool
}

// OpenStream opens a regular file for reading from the start, at most max
// bytes: the read that would pass max fails with ErrTooLarge (wrapped in
// an *Error naming the file by the caller). The caller closes it.
func (r Root) OpenStream(name string, max int64) (*Stream, error) {
	f, info, err := r.open(name)
	if err != nil {
		return nil, err
	}
	if info.Size > max {
		f.Close()
		return nil, &Error{Path: r.Join(name), Err: tooLarge(max)}
	}
	return &Stream{f: f, left: max, max: max}, nil
}

// Read reads the next bytes; the end is a read that returns 0. A read
// shorter than asked is not the end: a kernel seq_file (mountinfo, smaps)
// hands out about a page of records per read, whatever the buffer.
func (s *Stream) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if s.eof {
		return 0, eofError
	}
	if s.left <= 0 {
		// One more byte tells a file of exactly max bytes from a longer
		// one.
		var one [1]byte
		n, err := s.f.read(one[:])
		if err != nil {
			return 0, err
		}
		if n == 0 {
			s.eof = true
			return 0, eofError
		}
		return 0, tooLarge(s.max)
	}
	if int64(len(b)) > s.left {
		b = b[:s.left]
	}
	n, err := s.f.read(b)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		s.eof = true
		return 0, eofError
	}
	s.left -= int64(n)
	return n, nil
}

// Close closes the file.
func (s *Stream) Close() error { s.f.Close(); return nil }

// Open opens a regular file for repeated reads with ReadAt0. The caller
// closes it.
func (r Root) Open(name string) (File, error) {
	f, _, err := r.open(name)
	return f, err
}

// Stat describes the file at name, following symbolic links inside the
// root.
func (r Root) Stat(name string) (Info, error) { return r.stat(name, true) }

// Lstat describes the file at name; a final symbolic link is described
// itself.
func (r Root) Lstat(name string) (Info, error) { return r.stat(name, false) }

// Exists reports whether name exists (following links inside the root).
func (r Root) Exists(name string) bool {
	_, err := r.Stat(name)
	return err == nil
}

// Readlink returns the target of the symbolic link at name, as written.
func (r Root) Readlink(name string) (string, error) { return r.readlink(name) }
