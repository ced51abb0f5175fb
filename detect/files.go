package detect

import (
	"errors"
	"io/fs"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
)

// Detection reads /proc through package procfs and the few files outside
// /proc (/etc/hosts, /.dockerenv, /run/.containerenv, the service account)
// through the module's file layer: below a root other than "/" every path,
// symbolic links included, resolves inside that root, and anything but a
// regular file (a FIFO as /etc/hosts) is refused, naming the file, without
// blocking.

// defaultMax bounds a file read whole.
const defaultMax = 1 << 20

// readFile reads a whole file of at most max bytes below the root.
func (d *detector) readFile(name string, max int) ([]byte, error) {
	if max <= 0 {
		max = defaultMax
	}
	return d.root.ReadFile(name, max)
}

// readHead reads at most n bytes from the start of a file below the root:
// for files that may be large but whose first line is all that matters
// (a host's /etc/hosts can hold megabytes of block lists).
func (d *detector) readHead(name string, n int) ([]byte, error) {
	return d.root.ReadHead(name, n)
}

// stat describes a file below the root.
func (d *detector) stat(name string) (rootfs.Info, error) {
	return d.root.Stat(name)
}

// transient reports whether a read error may not recur: interrupted calls,
// running out of file descriptors, EAGAIN (what syscall.Errno.Temporary
// says). A missing file, permission denied (normal for /proc/1/environ
// when not root), malformed content, a file too large or not a regular
// file, or a loop of links is an answer, not a reason to retry.
func transient(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, procfs.ErrMalformed) || errors.Is(err, procfs.ErrTooLarge) ||
		errors.Is(err, procfs.ErrNotRegular) {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
