package rootfs

import "fmt"

// Directories.
//
// A directory is listed, never read as a file: Root.OpenDir opens it under
// the same rules as a file (confined to the root, never blocking) and
// refuses anything else with an error naming what it is. A Dir is kept
// open and listed again from its start with Entries, which on Linux fills
// the caller's buffer with getdents64(2) and allocates nothing: /proc/self/fd
// or /proc/self/task can be counted on every tick of a poller.

// ErrTooManyEntries is wrapped by ReadDirNames when a directory holds more
// entries than asked for.
var ErrTooManyEntries = fmt.Errorf("%w: too many directory entries", ErrTooLarge)

// DirBufSize is a good size for the buffer of Dir.Entries: one
// getdents64(2) call lists about 200 entries of /proc into it.
const DirBufSize = 8 << 10

// ReadDirNames lists the directory name, at most max entries ("." and ".."
// left out), in the order the file system gives them. It allocates; the
// hot path is Dir.Entries.
func (r Root) ReadDirNames(name string, max int) ([]string, error) {
	d, err := r.OpenDir(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var names []string
	var buf [DirBufSize]byte
	it := d.Entries(buf[:])
	for it.Next() {
		if len(names) == max {
			return nil, &Error{Path: r.Join(name), Err: fmt.Errorf("%w: more than %d", ErrTooManyEntries, max)}
		}
		names = append(names, string(it.Name()))
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	return names, nil
}

// Read reads the next bytes of f from its current offset, for a file read
// once from its start in pieces (a long seq_file such as a task's
// children). It returns 0 and no error at the end.
func (f File) Read(b []byte) (int, error) {
	if !f.IsOpen() {
		return 0, fmt.Errorf("read of a file that is not open")
	}
	return f.read(b)
}
