package cgroup

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
)

// Descriptor I/O of a handle: each cgroup file is opened at its first read,
// through the one file layer (confined to the root, regular files only),
// and kept; later reads are one pread at offset 0 into the handle's buffer.

// readBufSize bounds every read of a cgroup file. The largest file read is
// memory.stat: about 1.5 KiB on v1 and 2–4 KiB on v2 kernels of 2025. A file
// that fills the buffer is refused as too large rather than read partially.
const readBufSize = 16 << 10

// level is one directory on the way from the process's cgroup up to the
// mount point, with the descriptors of the files read there.
type level struct {
	dir string // inside the root; a prefix of the leaf's Dir
	// files are the files opened at this level (zero: not opened yet);
	// absent has bit id set when file id does not exist (kept, so a
	// missing file costs one open only).
	files  [numFiles]rootfs.File
	absent uint32
	// paths are the names of the opened files inside the root, made the
	// first time a value read from the file is handed out (or an error
	// names it), and kept: later reads of the same file allocate nothing.
	paths *[numFiles]string
}

func (lv *level) closeAll() {
	for id := range lv.files {
		lv.files[id].Close()
		lv.files[id] = rootfs.File{}
	}
	lv.absent = 0
}

// path returns the name of file id at this level inside the root.
func (lv *level) path(id fileID) string {
	if lv.paths == nil {
		lv.paths = new([numFiles]string)
	}
	if lv.paths[id] == "" {
		lv.paths[id] = joinDir(lv.dir, fileNames[id])
	}
	return lv.paths[id]
}

func joinDir(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

var errFileAbsent = fmt.Errorf("file does not exist: %w", ErrNotAvailable)

// filePath names a kept file for an error message: its path on this
// machine, with the root prefix.
func (g *Group) filePath(c Controller, li int, id fileID) string {
	return g.root.Join(g.levels[c][li].path(id))
}

// read reads file id at level li of controller c into the handle's buffer.
// present is false, with a nil error, when the file does not exist (normal
// for v2 levels without the controller enabled, and for optional files);
// a missing directory of the process's own cgroup is an error instead.
// The caller holds g.mu and must finish with the data before the next read.
func (g *Group) read(c Controller, li int, id fileID) (data []byte, present bool, err error) {
	lv := &g.levels[c][li]
	switch {
	case lv.absent&(1<<id) != 0:
		return nil, false, nil
	case !lv.files[id].IsOpen():
		p := append(g.pathBuf[:0], lv.dir...)
		if lv.dir != "/" {
			p = append(p, '/')
		}
		p = append(p, fileNames[id]...)
		p = append(p, 0)
		g.pathBuf = p[:0] // keep a grown buffer
		f, err := g.root.OpenBytes(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if li == 0 && !g.leafExists(c) {
					return nil, false, &Error{Path: g.root.Join(lv.dir), Err: ErrRemoved}
				}
				lv.absent |= 1 << id
				return nil, false, nil
			}
			return nil, false, err
		}
		lv.files[id] = f
	}
	n, err := lv.files[id].ReadAt0(g.buf)
	if err == nil && n == len(g.buf) && len(g.buf) < readBufSize {
		// A file larger than the buffer so far (memory.stat on a kernel
		// with many keys): grow it once, to the bound, and read again.
		g.buf = make([]byte, readBufSize)
		n, err = lv.files[id].ReadAt0(g.buf)
	}
	if err != nil {
		return nil, false, &Error{Path: g.filePath(c, li, id), Err: fmt.Errorf("read: %w", err)}
	}
	if n == len(g.buf) {
		return nil, false, &Error{Path: g.filePath(c, li, id), Err: fmt.Errorf("%w: %d bytes or more", procfs.ErrTooLarge, n)}
	}
	return g.buf[:n], true, nil
}

// mustRead is read for files that every cgroup the limit readers walk has
// (v1 cpu.cfs_quota_us and cpu.cfs_period_us): absence is an error naming
// the file and wrapping ErrNotAvailable. That error is allocated on every
// call; ReadStats, which must not allocate, uses read and leaves a value
// whose file is absent unset instead.
func (g *Group) mustRead(c Controller, li int, id fileID) ([]byte, error) {
	data, ok, err := g.read(c, li, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, g.absentErr(c, li, id)
	}
	return data, nil
}

// absentErr is the error for file id, which should exist, being absent at
// level li of controller c: it names the file and wraps ErrNotAvailable.
func (g *Group) absentErr(c Controller, li int, id fileID) error {
	return &Error{Path: g.filePath(c, li, id), Err: errFileAbsent}
}

func (g *Group) leafExists(c Controller) bool {
	info, err := g.root.Stat(g.levels[c][0].dir)
	return err == nil && info.IsDir()
}

// v1Levels returns how many levels of v1 controller c can carry a limit.
// The root of a v1 hierarchy cannot (the kernel refuses a quota or a memory
// limit there), so when the mount point is that root it is not read; then
// nothing is hidden above the walk either (see walkReachesRoot).
func (g *Group) v1Levels(c Controller) int {
	n := len(g.levels[c])
	if g.walkReachesRoot(c) {
		return n - 1
	}
	return n
}

// walkReachesRoot reports whether the topmost level of v1 controller c is
// the root of its hierarchy: only that cgroup has cgroup.sane_behavior
// (CFTYPE_ONLY_ON_ROOT; a namespaced or bind-mounted view's top lacks it).
// Checked once per handle.
func (g *Group) walkReachesRoot(c Controller) bool {
	if g.topIsRoot[c] == 0 {
		g.topIsRoot[c] = -1
		top := g.levels[c][len(g.levels[c])-1].dir
		if g.root.Exists(joinDir(top, "cgroup.sane_behavior")) {
			g.topIsRoot[c] = 1
		}
	}
	return g.topIsRoot[c] == 1
}

// unifiedIsRoot reports whether the process's v2 cgroup is the root of the
// whole v2 hierarchy (not a namespace's or a bind mount's top): the root
// cgroup has no cgroup.type (CFTYPE_NOT_ON_ROOT), and its pressure files
// count every task on the host, as /proc/pressure does. Checked once.
func (g *Group) unifiedIsRoot() bool {
	if g.unifiedRoot == 0 {
		g.unifiedRoot = -1
		dir := g.levels[Unified][0].dir
		if g.root.Exists(joinDir(dir, "cgroup.procs")) && !g.root.Exists(joinDir(dir, "cgroup.type")) {
			g.unifiedRoot = 1
		}
	}
	return g.unifiedRoot == 1
}

// malformedFile boxes a parse error with the file's path.
func (g *Group) malformedFile(c Controller, li int, id fileID, err error) error {
	return &Error{Path: g.filePath(c, li, id), Err: err}
}
