package procfs

import (
	"errors"
	"fmt"

	"github.com/rightsize/rightsize/internal/rootfs"
)

// DefaultRoot is the root of the live system.
const DefaultRoot = "/"

// maxFileSize bounds how much of a /proc file the whole-file readers
// accept. The files read whole with it (cgroup, status, meminfo, environ)
// are a few KiB; stat, limits, oom_score_adj, pressure and osrelease have
// smaller bounds of their own; a larger one is refused with ErrTooLarge
// rather than read without limit.
const maxFileSize = 1 << 20

var (
	// ErrMalformed is wrapped by every parse error: the file exists but
	// its content is not in the format the kernel documents.
	ErrMalformed = errors.New("malformed")

	// ErrTooLarge is wrapped when a file exceeds the reader's bound (at
	// most 1 MiB for a file read whole, less for the small ones; 64 MiB or
	// 1,048,576 lines for mountinfo, which is streamed; 4,194,304 PIDs for
	// one process-table scan).
	ErrTooLarge = rootfs.ErrTooLarge

	// ErrNotRegular is wrapped when a path names a FIFO, a socket, a
	// device or a directory instead of a file: reading one could block
	// forever or never end, so it is refused before any read. Real /proc
	// files are regular files.
	ErrNotRegular = rootfs.ErrNotRegular
)

// Error names the file (with the root prefix) and what went wrong.
// errors.Is sees through it to ErrMalformed, ErrTooLarge, ErrNotRegular,
// or the fs.ErrNotExist and fs.ErrPermission of the open. Every package of
// this module returns this one type.
type Error = rootfs.Error

// FS reads /proc below a root directory. The zero value reads the live
// system at "/". A fixture tree or an unpacked capture is read by giving its
// directory as the root: every path, symbolic links included, then
// resolves inside that directory, never outside it.
type FS struct {
	root rootfs.Root
}

// NewFS returns an FS rooted at root; "" means "/".
func NewFS(root string) FS {
	return FS{root: rootfs.New(root)}
}

// Root returns the root directory ("/" for the zero value).
func (fs FS) Root() string { return fs.root.Dir() }

// IsLive reports whether fs reads the live system (root "/"). Only then may
// callers substitute live equivalents such as os.Environ or
// sched_getaffinity for the files.
func (fs FS) IsLive() bool { return fs.root.IsLive() }

// name returns the path of a /proc file inside the root.
func name(elem ...string) string {
	p := "/proc"
	for _, e := range elem {
		p += "/" + e
	}
	return p
}

// malformed builds a parse error; the reader boxes it with the path.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// read reads a whole /proc file of at most max bytes.
func (fs FS) read(max int, elem ...string) ([]byte, string, error) {
	n := name(elem...)
	data, err := fs.root.ReadFile(n, max)
	return data, n, err
}

// box wraps a parse error with the file's path.
func (fs FS) box(name string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Path: fs.root.Join(name), Err: err}
}

// Handle is a /proc file kept open and read again at offset 0: procfs
// regenerates the content of a file on each read from offset 0, so a
// program that polls one (a process's cgroup, to see it move) opens it
// once. Reads allocate nothing.
type Handle struct {
	f    rootfs.File
	path string
}

// Open opens /proc/<name> (for example "self/cgroup") for repeated reads.
func (fs FS) Open(elem ...string) (*Handle, error) {
	n := name(elem...)
	f, err := fs.root.Open(n)
	if err != nil {
		return nil, err
	}
	return &Handle{f: f, path: fs.root.Join(n)}, nil
}

// Read reads the file from its start into buf with one pread and returns
// the bytes read. A file that fills buf is refused with ErrTooLarge: buf
// must be larger than the file. One pread returns a whole file only where
// the kernel writes it as one record (/proc/<pid>/cgroup, stat, status,
// the pressure files, cgroupfs files); a seq_file of many records
// (mountinfo, smaps) comes about a page per read and needs a Stream.
func (h *Handle) Read(buf []byte) ([]byte, error) {
	if h == nil || !h.f.IsOpen() {
		return nil, errors.New("procfs: read of a closed Handle")
	}
	n, err := h.f.ReadAt0(buf)
	if err != nil {
		return nil, &Error{Path: h.path, Err: fmt.Errorf("read: %w", err)}
	}
	if n == len(buf) {
		return nil, &Error{Path: h.path, Err: fmt.Errorf("%w: %d bytes or more", ErrTooLarge, n)}
	}
	return buf[:n], nil
}

// Path returns the file's path (with the root prefix).
func (h *Handle) Path() string { return h.path }

// Close closes the file. A closed Handle's Read returns an error.
func (h *Handle) Close() error {
	if h != nil {
		h.f.Close()
		h.f = rootfs.File{}
	}
	return nil
}
