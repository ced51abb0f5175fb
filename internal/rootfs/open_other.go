//go:build !linux

package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Outside Linux there is no /proc or cgroupfs, but a captured tree may
// still be read (a developer's laptop). The rules hold with a portable
// walk: each component is examined with Lstat, links are resolved inside
// the root, and only what Lstat shows as a regular file is opened. One
// limit: the check and the open are two steps (os.Open has no O_NONBLOCK
// or O_NOFOLLOW everywhere), so a tree changed between them by someone
// racing the reader could swap a FIFO or a link in. Linux, where services
// run, opens and checks in one step.

const maxLinks = 40

// ForceWalk exists for tests on every platform; outside Linux every
// resolution is a walk already.
func ForceWalk() (restore func()) { return func() {} }

var eofError = io.EOF

// File is an open regular file. The zero value is not an open file.
type File struct {
	f *os.File
}

// IsOpen reports whether f is an open file.
func (f File) IsOpen() bool { return f.f != nil }

// Fd returns the descriptor, -1 when not open.
func (f File) Fd() int {
	if f.f == nil {
		return -1
	}
	return int(f.f.Fd())
}

// Close closes the file.
func (f File) Close() {
	if f.f != nil {
		f.f.Close()
	}
}

// ReadAt0 reads from offset 0 into buf.
func (f File) ReadAt0(buf []byte) (int, error) {
	n, err := f.f.ReadAt(buf, 0)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (f File) read(b []byte) (int, error) {
	n, err := f.f.Read(b)
	if err == io.EOF {
		return n, nil
	}
	return n, err
}

func (r Root) resolve(name string, follow bool) (string, error) {
	if r.dir == "" {
		return filepath.FromSlash("/" + strings.TrimLeft(name, "/")), nil
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
		p := filepath.Join(append([]string{r.dir}, next...)...)
		fi, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 || (len(todo) == 0 && !follow) {
			done = next
			continue
		}
		if links++; links > maxLinks {
			return "", errors.New("too many levels of symbolic links")
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		target = filepath.ToSlash(target)
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(splitPath(target), todo...)
	}
	return filepath.Join(append([]string{r.dir}, done...)...), nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (r Root) open(name string) (File, Info, error) {
	traced(r, "open", name)
	p, err := r.resolve(name, true)
	if err == nil {
		var fi fs.FileInfo
		if fi, err = os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
			return File{}, Info{Mode: fi.Mode()}, &Error{Path: r.Join(name), Err: notRegular(fi.Mode())}
		}
	}
	if err != nil {
		return File{}, Info{}, &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", unwrapPath(err))}
	}
	f, err := os.Open(p)
	if err != nil {
		return File{}, Info{}, &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", unwrapPath(err))}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notRegular(fi.Mode())
		}
		return File{}, Info{}, &Error{Path: r.Join(name), Err: err}
	}
	return File{f: f}, Info{Mode: fi.Mode(), Size: fi.Size()}, nil
}

// OpenBytes is Open for a NUL-terminated byte path.
func (r Root) OpenBytes(name []byte) (File, error) {
	if len(name) == 0 || name[len(name)-1] != 0 {
		return File{}, &Error{Path: r.Join(string(name)), Err: fmt.Errorf("open: path not NUL-terminated")}
	}
	return r.Open(string(name[:len(name)-1]))
}

func (r Root) stat(name string, follow bool) (Info, error) {
	traced(r, "stat", name)
	p, err := r.resolve(name, follow)
	var fi fs.FileInfo
	if err == nil {
		fi, err = os.Lstat(p)
	}
	if err != nil {
		return Info{}, &Error{Path: r.Join(name), Err: fmt.Errorf("stat: %w", unwrapPath(err))}
	}
	return Info{Mode: fi.Mode(), Size: fi.Size()}, nil
}

func (r Root) readlink(name string) (string, error) {
	p, err := r.resolve(name, false)
	var t string
	if err == nil {
		t, err = os.Readlink(p)
	}
	if err != nil {
		return "", &Error{Path: r.Join(name), Err: fmt.Errorf("readlink: %w", unwrapPath(err))}
	}
	return t, nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(filepath.ToSlash(p), "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
