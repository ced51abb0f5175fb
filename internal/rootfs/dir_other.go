//go:build !linux

package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Outside Linux a directory is listed with os.File.ReadDir: a captured tree
// can be read there too, but a listing allocates.

// Dir is an open directory. The zero value is not open.
type Dir struct {
	f    *os.File
	root Root
	name string
}

// IsOpen reports whether d is an open directory.
func (d Dir) IsOpen() bool { return d.f != nil }

// Fd returns the descriptor, -1 when not open.
func (d Dir) Fd() int {
	if d.f == nil {
		return -1
	}
	return int(d.f.Fd())
}

// Close closes the directory.
func (d Dir) Close() {
	if d.f != nil {
		d.f.Close()
	}
}

// OpenDir opens the directory name below the root for listing.
func (r Root) OpenDir(name string) (Dir, error) {
	traced(r, "open", name)
	p, err := r.resolve(name, true)
	var fi fs.FileInfo
	if err == nil {
		fi, err = os.Stat(p)
	}
	if err != nil {
		return Dir{}, &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", unwrapPath(err))}
	}
	if !fi.IsDir() {
		return Dir{}, &Error{Path: r.Join(name), Err: fmt.Errorf("%w: it is %s, not a directory", ErrNotRegular, Kind(fi.Mode()))}
	}
	f, err := os.Open(p)
	if err != nil {
		return Dir{}, &Error{Path: r.Join(name), Err: fmt.Errorf("open: %w", unwrapPath(err))}
	}
	return Dir{f: f, root: r, name: name}, nil
}

// OpenDirBytes is OpenDir for a NUL-terminated byte path.
func (r Root) OpenDirBytes(name []byte) (Dir, error) {
	if len(name) == 0 || name[len(name)-1] != 0 {
		return Dir{}, &Error{Path: r.Join(string(name)), Err: fmt.Errorf("open: path not NUL-terminated")}
	}
	return r.OpenDir(string(name[:len(name)-1]))
}

// DirEntries lists a Dir.
type DirEntries struct {
	d     Dir
	ents  []fs.DirEntry
	name  []byte
	dir   bool
	err   error
	state uint8
}

// Entries lists d from its start. buf is unused outside Linux.
func (d Dir) Entries(buf []byte) DirEntries { return DirEntries{d: d} }

// Next moves to the next entry and reports whether there is one.
func (e *DirEntries) Next() bool {
	if e.state == 2 {
		return false
	}
	if e.state == 0 {
		e.state = 1
		if e.d.f == nil {
			return e.fail(errors.New("listing a directory that is not open"))
		}
		if _, err := e.d.f.Seek(0, io.SeekStart); err != nil {
			return e.fail(fmt.Errorf("rewind: %w", err))
		}
	}
	for len(e.ents) == 0 {
		ents, err := e.d.f.ReadDir(256)
		if err == io.EOF || (err == nil && len(ents) == 0) {
			e.state = 2
			return false
		}
		if err != nil {
			return e.fail(err)
		}
		e.ents = ents
	}
	de := e.ents[0]
	e.ents = e.ents[1:]
	e.name, e.dir = []byte(de.Name()), de.IsDir()
	return true
}

func (e *DirEntries) fail(err error) bool {
	e.err, e.state = &Error{Path: e.d.root.Join(e.d.name), Err: err}, 2
	return false
}

func (d Dir) join(name []byte) (string, error) {
	if len(name) < 2 || name[len(name)-1] != 0 || name[0] == '/' {
		return "", &Error{Path: d.root.Join(d.name), Err: fmt.Errorf("%q is not a relative NUL-terminated path", name)}
	}
	return d.name + "/" + string(name[:len(name)-1]), nil
}

// OpenAt opens the regular file name (relative, NUL-terminated) below d.
func (d Dir) OpenAt(name []byte) (File, error) {
	p, err := d.join(name)
	if err != nil {
		return File{}, err
	}
	return d.root.Open(p)
}

// ReadlinkAt reads the target of the link name (relative, NUL-terminated)
// below d into buf.
func (d Dir) ReadlinkAt(name []byte, buf []byte) (int, error) {
	p, err := d.join(name)
	if err != nil {
		return 0, err
	}
	t, err := d.root.Readlink(p)
	return copy(buf, t), err
}

// Name returns the current entry's name.
func (e *DirEntries) Name() []byte { return e.name }

// IsDir reports whether the current entry is a directory.
func (e *DirEntries) IsDir() bool { return e.dir }

// Err returns the error that ended the listing, or nil at its end.
func (e *DirEntries) Err() error { return e.err }
