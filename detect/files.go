package detect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rightsize/rightsize/procfs"
)

// maxLinks bounds symbolic-link resolution below a non-default root, as
// the kernel's MAXSYMLINKS (40) bounds it.
const maxLinks = 40

var errTooManyLinks = errors.New("too many levels of symbolic links")

// resolve returns name (slash-separated, relative to the root) with every
// symbolic link on the way resolved INSIDE the root, for reading a captured
// tree. A captured system commonly has /var/run -> /run, and some have
// absolute targets; the operating system would follow those out of the
// capture into the live system. Here an absolute target restarts at the
// root and ".." stops at it. With the live root "/" the operating system
// resolves, and name is returned as is.
//
// A missing component ends the walk: the rest is appended unresolved and
// the read that follows fails with "not exist", naming the file.
//
// This lives here rather than in procfs because only detect reads files
// outside /proc (os.Root, which would do it, needs Go 1.24).
func (d *detector) resolve(name string) (string, error) {
	if d.live {
		return name, nil
	}
	var done []string
	todo := splitPath(name)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		next := append(done[:len(done):len(done)], c)
		p := d.fs.Path(next...)
		fi, err := os.Lstat(p)
		if err != nil {
			done = append(next, todo...)
			break
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		if links++; links > maxLinks {
			return "", &procfs.Error{Path: d.fs.Path(name), Err: errTooManyLinks}
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", &procfs.Error{Path: p, Err: stripPathError(err)}
		}
		target = filepath.ToSlash(target)
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(splitPath(target), todo...)
	}
	return strings.Join(done, "/"), nil
}

// readFile reads a whole file of at most max bytes below the root (procfs's
// bounded reader, whose errors name the file).
func (d *detector) readFile(name string, max int) ([]byte, error) {
	rel, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	return d.fs.ReadFile(rel, max)
}

// readHead reads at most n bytes from the start of a file below the root:
// for files that may be large but whose first line is all that matters
// (a host's /etc/hosts can hold megabytes of block lists).
func (d *detector) readHead(name string, n int64) ([]byte, error) {
	rel, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	p := d.fs.Path(rel)
	f, err := os.Open(p)
	if err != nil {
		return nil, &procfs.Error{Path: p, Err: stripPathError(err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, n))
	if err != nil {
		return nil, &procfs.Error{Path: p, Err: stripPathError(err)}
	}
	return data, nil
}

// stat stats a file below the root.
func (d *detector) stat(name string) (fs.FileInfo, error) {
	rel, err := d.resolve(name)
	if err != nil {
		return nil, err
	}
	p := d.fs.Path(rel)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, &procfs.Error{Path: p, Err: stripPathError(err)}
	}
	return fi, nil
}

// open opens a file below the root for streaming.
func (d *detector) open(name string) (*os.File, string, error) {
	rel, err := d.resolve(name)
	if err != nil {
		return nil, "", err
	}
	p := d.fs.Path(rel)
	f, err := os.Open(p)
	if err != nil {
		return nil, p, &procfs.Error{Path: p, Err: stripPathError(err)}
	}
	return f, p, nil
}

// stripPathError drops the *fs.PathError around an error so that the path
// is named once, by the *procfs.Error around it.
func stripPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// transient reports whether a read error may not recur: interrupted calls,
// running out of file descriptors, EAGAIN (what syscall.Errno.Temporary
// says). A missing file, permission denied (normal for /proc/1/environ
// when not root), or malformed content is an answer, not a reason to retry.
func transient(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, procfs.ErrMalformed) || errors.Is(err, procfs.ErrTooLarge) ||
		errors.Is(err, errTooManyLinks) {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
