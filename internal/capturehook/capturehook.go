// Package capturehook passes, inside this module, what the command's
// capture needs from packages whose public API does not offer it: the list
// of cgroup files a cgroup.Group reads. The cgroup package fills it in its
// init.
package capturehook

import "io/fs"

// Entry is a file a Group may read and what the tree holds there.
type Entry struct {
	Path string      // inside the root
	Mode fs.FileMode // from Lstat: a regular file, a link, a FIFO, ...
}

// CgroupEntries lists every candidate file a *cgroup.Group may read that
// exists in its root, whatever its type (Lstat, not following a final
// link): the capture reads the regular files, records links as links and
// warns about the rest.
var CgroupEntries func(g any) ([]Entry, error)
