package procfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultRoot is the root of the live system.
const DefaultRoot = "/"

// MaxFileSize bounds how much of a /proc file the whole-file readers accept.
// The files read whole (cgroup, status, meminfo, environ, oom_score_adj) are
// a few KiB; a larger one is refused rather than read without limit.
// mountinfo is streamed line by line and has no such bound.
const MaxFileSize = 1 << 20

// ErrMalformed is wrapped by every parse error: the file exists but its
// content is not in the format the kernel documents.
var ErrMalformed = errors.New("malformed")

// ErrTooLarge is wrapped when a file exceeds the reader's bound.
var ErrTooLarge = errors.New("file too large")

// FS reads /proc below a root directory. The zero value reads the live
// system at "/". A fixture tree or an unpacked capture is read by giving its
// directory as the root.
type FS struct {
	root string
}

// NewFS returns an FS rooted at root; "" means "/".
func NewFS(root string) FS {
	if root == "" {
		root = DefaultRoot
	}
	return FS{root: filepath.Clean(root)}
}

// Root returns the root directory ("/" for the zero value).
func (fs FS) Root() string {
	if fs.root == "" {
		return DefaultRoot
	}
	return fs.root
}

// IsLive reports whether fs reads the live system (root "/"). Only then may
// callers substitute live equivalents such as os.Environ or
// sched_getaffinity for the files.
func (fs FS) IsLive() bool { return fs.Root() == DefaultRoot }

// Path joins the root with a path such as "proc/self/cgroup".
func (fs FS) Path(elem ...string) string {
	return filepath.Join(append([]string{fs.Root()}, elem...)...)
}

// Error is returned by the readers: which file and what went wrong. Err is
// the underlying error; errors.Is sees through it to ErrMalformed,
// ErrTooLarge or the fs.ErrNotExist / fs.ErrPermission of the open.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// malformed builds a parse error; the reader boxes it with the path.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// readFile reads a whole file of at most max bytes. Larger files give
// ErrTooLarge instead of being read without limit.
func readFile(path string, max int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: path, Err: unwrapPathError(err)}
	}
	defer f.Close()
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			if cap(buf) > max {
				return nil, &Error{Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return nil, &Error{Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, &Error{Path: path, Err: unwrapPathError(err)}
		}
	}
}

// unwrapPathError drops the *fs.PathError around an os error so the path is
// not named twice.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// box wraps a parse error with the file's path.
func box(path string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Path: path, Err: err}
}

// ReadFile reads <root>/name whole, refusing files over max bytes (max <= 0
// means MaxFileSize). Errors name the file.
func (fs FS) ReadFile(name string, max int) ([]byte, error) {
	if max <= 0 {
		max = MaxFileSize
	}
	return readFile(fs.Path(name), max)
}
