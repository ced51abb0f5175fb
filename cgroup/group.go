package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
)

// Group is a handle on the cgroups of a process. Discovery runs once in
// Open; afterwards each reader re-reads the files it needs with pread at
// offset 0 on descriptors opened at first use and kept, into a buffer owned
// by the handle: a read on a warm handle allocates nothing.
//
// A Group is safe for concurrent use; reads are serialised on an internal
// lock. Close releases the descriptors; a closed Group, and a Group not
// made by Open, return errors from every reader.
type Group struct {
	mu     sync.Mutex
	root   rootfs.Root
	proc   procfs.FS
	pid    string // "self" or a process ID
	layout Layout
	locs   [numControllers]Location
	have   [numControllers]bool
	levels [numControllers][]level // [0] is the process's cgroup
	closed bool
	// cgroupFile is /proc/<pid>/cgroup as read at Open; cgroupH keeps it
	// open for Moved.
	cgroupFile []byte
	cgroupH    *procfs.Handle
	// topIsRoot caches whether the last level of a v1 controller is the
	// real root of its hierarchy: 0 not checked yet, 1 yes, -1 no.
	topIsRoot [numControllers]int8
	// unifiedRoot caches whether the process's v2 cgroup is the root of
	// the whole hierarchy, whose pressure files are the host's: 0 not
	// checked yet, 1 yes, -1 no.
	unifiedRoot int8
	// hostPSI keeps /proc/pressure/{cpu,memory,io} open where the process
	// has no v2 pressure files; hostPSIAbsent has bit i set when file i
	// does not exist.
	hostPSI       [3]*procfs.Handle
	hostPSIAbsent uint8

	// The buffers are allocated apart: a Group without them was not made
	// by Open (see lock). The bytes they point to hold no pointers, and
	// the garbage collector does not scan them.
	*buffers
}

// buffers are the handle's read and path buffers. The read buffer starts at
// 4 KiB (the files read are a few bytes, memory.stat a few KiB) and grows
// once, to readBufSize, when a file fills it; the path buffer starts at 512
// bytes (paths are a few dozen) and grows by append when a longer path is
// built. Both keep their grown size: a warm handle reads with no
// allocation.
type buffers struct {
	buf     []byte
	pathBuf []byte
}

const (
	initialReadBuf = 4 << 10
	initialPathBuf = 512
)

var (
	errClosed  = errors.New("cgroup: the Group is closed")
	errNotOpen = errors.New("cgroup: the Group was not made by Open")
)

// lock takes the handle's lock, or says why the handle cannot be used. On
// success the caller unlocks.
func (g *Group) lock() error {
	if g == nil || g.buffers == nil {
		return errNotOpen
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errClosed
	}
	return nil
}

// scratch holds the buffers of a discovery; pooled, so a warm Open
// allocates only what the handle keeps.
type scratch struct {
	*scratchBytes
	d discovery
}

// scratchBytes are scratch's byte buffers, apart from discovery (which
// holds slices): an allocation without pointers is not cleared when its
// memory is fresh from the system, so the first Open of a process need not
// touch all 40 KB of it.
type scratchBytes struct {
	cgroup    [8 << 10]byte
	mountinfo [16 << 10]byte // grown by procfs for a longer line
	arena     [arenaSize]byte
	ctrls     [1024]byte
}

var scratchPool = sync.Pool{New: func() any { return &scratch{scratchBytes: new(scratchBytes)} }}

// Open discovers the cgroups of the calling process: it parses
// /proc/self/cgroup and /proc/self/mountinfo and resolves the directory of
// each controller. Of the cgroup files it reads only the cgroup2 mount's
// cgroup.controllers, when a controller may be on v2. On a system without
// cgroup mounts it succeeds with Layout() == LayoutNone and every limit
// reported as absent; outside Linux it returns ErrNotSupported. A nil or
// invalid option is an error. Discovery keeps 64 cgroup mounts; when more
// are listed and a controller the process is in is not found among those
// kept, Open fails with an error wrapping ErrTooLarge.
func Open(opts ...Option) (*Group, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "linux" {
		return nil, ErrNotSupported
	}
	g := &Group{root: rootfs.New(o.root), proc: procfs.NewFS(o.root), pid: o.pid,
		buffers: &buffers{buf: make([]byte, initialReadBuf), pathBuf: make([]byte, 0, initialPathBuf)}}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	if err := g.discover(s); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *Group) discover(s *scratch) error {
	d := &s.d
	*d = discovery{arena: s.arena[:0]}

	data, err := g.proc.ScanCgroup(g.pid, s.cgroup[:], d.addCgroupLine)
	if err != nil {
		return err
	}
	g.cgroupFile = append(make([]byte, 0, len(data)), data...)

	skipped, err := g.proc.ScanMountInfo(g.pid, s.mountinfo[:], func(v *procfs.MountInfoView) bool {
		d.addMount(v)
		return true
	})
	if err != nil {
		return err
	}
	if d.n == 0 && skipped > 0 {
		// Lines were passed over and none of the rest is a cgroup
		// mount: say so rather than report "no cgroups".
		return &Error{Path: g.root.Join("/proc/" + g.pid + "/mountinfo"),
			Err: fmt.Errorf("%w: no cgroup mount found, and %d lines were skipped (malformed, or over %d bytes)", ErrMalformed, skipped, procfs.MaxMountInfoLine)}
	}

	raw, err := d.resolve(func(point []byte) (ctrlMask, error) {
		// The path is NUL-terminated for OpenBytes, which on the live
		// system opens it without converting it to a string.
		p := append(g.pathBuf[:0], point...)
		p = append(p, "/cgroup.controllers\x00"...)
		g.pathBuf = p[:0]
		n, err := g.root.ReadIntoBytes(p, s.ctrls[:])
		if err != nil {
			return 0, err
		}
		return parseControllers(s.ctrls[:n]), nil
	})
	if err != nil {
		return err
	}
	if d.skip > 0 {
		// Mounts were dropped for lack of room: fine if every controller
		// the process is in was found among the others, not if one of
		// theirs may be among the dropped.
		if c, ok := d.unresolved(&raw); ok {
			return &Error{Path: g.root.Join("/proc/" + g.pid + "/mountinfo"),
				Err: fmt.Errorf("%w: %d cgroup mounts dropped (discovery keeps %d, in %d bytes of roots and mount points), and none of those kept serves the %s controller", ErrTooLarge, d.skip, maxMounts, arenaSize, c)}
		}
	}
	g.layout = d.layout()

	// Keep every string in one allocation: for each controller the mount
	// point, mount root, path and directory, back to back.
	var offs [numControllers][5]int
	keep := make([]byte, 0, 512)
	for c := range raw {
		r := &raw[c]
		if !r.ok {
			continue
		}
		o := &offs[c]
		o[0] = len(keep)
		keep = append(keep, r.mount.point...)
		o[1] = len(keep)
		keep = append(keep, r.mount.root...)
		o[2] = len(keep)
		keep = append(keep, r.path...)
		o[3] = len(keep)
		keep = appendDir(keep, r)
		o[4] = len(keep)
	}
	str := string(keep)
	nLevels := 0
	for c := range raw {
		r := &raw[c]
		if !r.ok {
			continue
		}
		o := offs[c]
		g.have[c] = true
		g.locs[c] = Location{
			Version:    r.version,
			MountPoint: str[o[0]:o[1]],
			MountRoot:  str[o[1]:o[2]],
			Path:       str[o[2]:o[3]],
			Dir:        str[o[3]:o[4]],
			Degraded:   r.degraded,
		}
		k := countLevels(g.locs[c].Dir, g.locs[c].MountPoint)
		if k > maxLevels {
			return &Error{Path: g.root.Join("/proc/" + g.pid + "/cgroup"),
				Err: fmt.Errorf("%w: %s cgroup %s is %d levels below its mount point, more than %d", ErrMalformed, Controller(c), g.locs[c].Path, k-1, maxLevels-1)}
		}
		nLevels += k
	}
	all := make([]level, nLevels)
	for c := range g.locs {
		if !g.have[c] {
			continue
		}
		l := &g.locs[c]
		k := countLevels(l.Dir, l.MountPoint)
		lv := all[:k:k]
		all = all[k:]
		dir := l.Dir
		for i := range lv {
			lv[i].dir = dir
			dir = parentDir(dir)
		}
		g.levels[c] = lv
	}
	return nil
}

// maxLevels bounds the directories walked for one controller, the
// process's cgroup included. Real hierarchies are a handful of levels deep
// (a Kubernetes container is four below the root); a path deeper than this
// is not a cgroup anyone made, and walking it would cost a time that grows
// with the square of its depth.
const maxLevels = 128

// countLevels counts the directories from dir up to and including the mount
// point. dir is the mount point itself or below it.
func countLevels(dir, mount string) int {
	n := 1
	for len(dir) > len(mount) {
		dir = parentDir(dir)
		n++
	}
	return n
}

func parentDir(dir string) string {
	for i := len(dir) - 1; i > 0; i-- {
		if dir[i] == '/' {
			return dir[:i]
		}
	}
	return "/"
}

// Root returns the filesystem root the handle reads below ("/" when live).
func (g *Group) Root() string {
	if g == nil {
		return procfs.DefaultRoot
	}
	return g.root.Dir()
}

// Layout reports which cgroup versions are mounted.
func (g *Group) Layout() Layout {
	if g == nil || g.layout == "" {
		return LayoutNone
	}
	return g.layout
}

// Location returns where controller c is for this process; ok is false when
// the controller is not mounted (or not enabled) for it.
func (g *Group) Location(c Controller) (Location, bool) {
	if g == nil || c < 0 || c >= numControllers {
		return Location{}, false
	}
	return g.locs[c], g.have[c]
}

// Close releases the descriptors. Readers of a closed handle return an
// error; closing again does nothing.
func (g *Group) Close() error {
	if g == nil || g.buffers == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.levels {
		for i := range g.levels[c] {
			g.levels[c][i].closeAll()
		}
	}
	if g.cgroupH != nil {
		g.cgroupH.Close()
		g.cgroupH = nil
	}
	for i, h := range g.hostPSI {
		if h != nil {
			h.Close()
			g.hostPSI[i] = nil
		}
	}
	g.closed = true
	return nil
}

// Moved reports whether the process is now in other cgroups than at Open
// (/proc/<pid>/cgroup changed): the handle then reads the old cgroups, and a
// new one should be opened. It re-reads the file through a kept descriptor
// into the handle's buffer and allocates nothing.
func (g *Group) Moved() (bool, error) {
	if err := g.lock(); err != nil {
		return false, err
	}
	defer g.mu.Unlock()
	if g.cgroupH == nil {
		h, err := g.proc.Open(g.pid, "cgroup")
		if err != nil {
			return false, err
		}
		g.cgroupH = h
	}
	data, err := g.cgroupH.Read(g.buf)
	if errors.Is(err, ErrTooLarge) && len(g.buf) < readBufSize {
		g.buf = make([]byte, readBufSize)
		data, err = g.cgroupH.Read(g.buf)
	}
	if err != nil {
		return false, err
	}
	return !bytes.Equal(data, g.cgroupFile), nil
}
