package qemu

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// The kernel unpacks an initramfs given as a "newc" cpio archive (see the
// kernel's Documentation/driver-api/early-userspace/buffer-format.rst): each
// entry is a 110-byte ASCII header of "070701" and thirteen 8-digit hex
// fields, the NUL-terminated name padded to a multiple of four, then the data
// padded to a multiple of four; an entry named "TRAILER!!!" ends it. It is
// written here instead of with the cpio tool, which CI need not have.

const (
	cpioMagic   = "070701"
	cpioTrailer = "TRAILER!!!"

	modeDir     = 0o040000
	modeFile    = 0o100000
	modeChar    = 0o020000
	modeSymlink = 0o120000
)

// Initramfs describes the content of an initramfs archive. Parent
// directories of every path are created as needed.
type Initramfs struct {
	// Files maps a guest path to a host file, copied with mode 0755 (the
	// files are programs: /init, test binaries).
	Files map[string]string
	// Data maps a guest path to its content, written with mode 0644.
	Data map[string][]byte
	// Dirs lists extra directories (mode 0755), such as mount points.
	Dirs []string
	// CharDevs maps a guest path to the major and minor numbers of a
	// character device node, such as /dev/console (5, 1).
	CharDevs map[string][2]uint32
	// Trees maps a guest directory to a host directory copied into it
	// whole: directories and regular files with their permission bits,
	// symbolic links as links (with their targets unchanged), for the
	// testdata a test binary reads. Other file types are an error.
	Trees map[string]string
}

// cpioEntry is one member of the archive, in the order written.
type cpioEntry struct {
	name         string // relative, without a leading slash
	mode         uint32
	size         int64
	major, minor uint32
	host         string // content from this host file, if set
	data         []byte // content otherwise
}

// WriteTo writes the archive to w. Entries come out sorted by path, so the
// same input gives the same bytes.
func (ir Initramfs) WriteTo(w io.Writer) (int64, error) {
	entries, err := ir.entries()
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	cw := &countWriter{w: bw}
	for i, e := range entries {
		if err := writeEntry(cw, uint32(i+1), e); err != nil {
			return cw.n, err
		}
	}
	if err := writeEntry(cw, 0, cpioEntry{name: cpioTrailer}); err != nil {
		return cw.n, err
	}
	return cw.n, bw.Flush()
}

// entries lists the archive members, parents before children.
func (ir Initramfs) entries() ([]cpioEntry, error) {
	byName := map[string]cpioEntry{}
	add := func(guest string, e cpioEntry) error {
		name, err := cleanGuestPath(guest)
		if err != nil {
			return err
		}
		if old, ok := byName[name]; ok && !(old.mode&modeDir != 0 && e.mode&modeDir != 0) {
			return fmt.Errorf("initramfs: %s given twice", guest)
		}
		e.name = name
		byName[name] = e
		// Parents: the kernel does not create them for us.
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			old, ok := byName[d]
			if ok && old.mode&modeDir == 0 {
				return fmt.Errorf("initramfs: %s is both a file and a parent directory", d)
			}
			if !ok {
				byName[d] = cpioEntry{name: d, mode: modeDir | 0o755}
			}
		}
		return nil
	}
	for _, d := range ir.Dirs {
		if err := add(d, cpioEntry{mode: modeDir | 0o755}); err != nil {
			return nil, err
		}
	}
	for guest, host := range ir.Files {
		fi, err := os.Stat(host)
		if err != nil {
			return nil, fmt.Errorf("initramfs: file for %s: %w", guest, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("initramfs: file for %s: %s is not a regular file", guest, host)
		}
		if err := add(guest, cpioEntry{mode: modeFile | 0o755, size: fi.Size(), host: host}); err != nil {
			return nil, err
		}
	}
	for guest, data := range ir.Data {
		if err := add(guest, cpioEntry{mode: modeFile | 0o644, size: int64(len(data)), data: data}); err != nil {
			return nil, err
		}
	}
	for guest, host := range ir.Trees {
		err := filepath.WalkDir(host, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(host, p)
			if err != nil {
				return err
			}
			g := path.Join(guest, filepath.ToSlash(rel))
			info, err := d.Info()
			if err != nil {
				return err
			}
			perm := uint32(info.Mode().Perm())
			switch {
			case d.IsDir():
				return add(g, cpioEntry{mode: modeDir | perm})
			case info.Mode().IsRegular():
				return add(g, cpioEntry{mode: modeFile | perm, size: info.Size(), host: p})
			case info.Mode()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				return add(g, cpioEntry{mode: modeSymlink | 0o777, size: int64(len(target)), data: []byte(target)})
			default:
				return fmt.Errorf("%s is neither a directory, a regular file nor a symbolic link", p)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("initramfs: tree for %s: %w", guest, err)
		}
	}
	for guest, dev := range ir.CharDevs {
		if err := add(guest, cpioEntry{mode: modeChar | 0o600, major: dev[0], minor: dev[1]}); err != nil {
			return nil, err
		}
	}
	out := make([]cpioEntry, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	// Sorting by name puts "a" before "a/b": parents come first.
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// cleanGuestPath turns an absolute guest path into the relative name cpio
// uses, refusing paths that are not absolute or that name the root.
func cleanGuestPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("initramfs: guest path %q is not absolute", p)
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		return "", fmt.Errorf("initramfs: guest path %q names the root", p)
	}
	return name, nil
}

func writeEntry(w io.Writer, ino uint32, e cpioEntry) error {
	if e.size > 0xFFFFFFFF {
		return fmt.Errorf("initramfs: %s is larger than cpio's 4 GiB limit", e.name)
	}
	nlink := uint32(1)
	if e.mode&modeDir != 0 {
		nlink = 2
	}
	fields := []uint32{
		ino, e.mode, 0, 0, nlink, 0, // ino, mode, uid, gid, nlink, mtime
		uint32(e.size), 0, 0, // filesize, devmajor, devminor
		e.major, e.minor, // rdevmajor, rdevminor
		uint32(len(e.name) + 1), 0, // namesize with NUL, check
	}
	hdr := make([]byte, 0, 110+len(e.name)+4)
	hdr = append(hdr, cpioMagic...)
	for _, f := range fields {
		hdr = fmt.Appendf(hdr, "%08X", f)
	}
	hdr = append(hdr, e.name...)
	hdr = append(hdr, 0)
	hdr = append(hdr, make([]byte, pad4(len(hdr)))...)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	switch {
	case e.host != "":
		f, err := os.Open(e.host)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		n, err := io.Copy(w, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("initramfs: copy %s: %w", e.host, err)
		}
		if n != e.size {
			return fmt.Errorf("initramfs: %s changed size while being copied", e.host)
		}
	default:
		if _, err := w.Write(e.data); err != nil {
			return err
		}
	}
	_, err := w.Write(make([]byte, pad4(int(e.size))))
	return err
}

// pad4 is the number of zero bytes that bring n to a multiple of four.
func pad4(n int) int { return (4 - n%4) % 4 }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
