package procfs

import (
	"bytes"
	"math"
)

// Descriptors: /proc/<pid>/fd holds one symbolic link per open descriptor
// (named by its number), /proc/<pid>/fdinfo one file per descriptor. The
// fdinfo of a pidfd, a descriptor that refers to a process (pidfd_open(2),
// clone(2) with CLONE_PIDFD), has a "Pid:" line naming it:
//
//	pos:	0
//	flags:	02000002
//	mnt_id:	15
//	ino:	1057
//	Pid:	4211
//	NSpid:	4211
//
// Since Go 1.23, os.StartProcess (and so os/exec) keeps a pidfd for every
// child it starts, until Wait or Release, on kernels where pidfds work.

// pidfdLink is the target of a pidfd's /proc/<pid>/fd link, on kernels
// with pidfs (6.9+) as before it.
var pidfdLink = []byte("anon_inode:[pidfd]")

// isPidfdLink reports whether target, the target of a /proc/<pid>/fd link,
// is a pidfd's.
func isPidfdLink(target []byte) bool {
	return bytes.Equal(target, pidfdLink) || bytes.HasPrefix(target, []byte("pidfd:"))
}

// parseFdinfoPid returns the PID named by the "Pid:" line of an fdinfo
// file: ok is false when the file has none (the descriptor is not a
// pidfd). pid is -1 for a process that has been reaped (newer kernels say
// so), 0 for one outside the PID namespace of the /proc mount.
func parseFdinfoPid(data []byte) (pid int, ok bool) {
	for len(data) > 0 {
		var line []byte
		line, data = cutByte(data, '\n')
		val, found := bytes.CutPrefix(line, []byte("Pid:"))
		if !found {
			continue
		}
		val = trimSpace(val)
		if string(val) == "-1" {
			return -1, true
		}
		n, good := parseUint64(val)
		if !good || n > math.MaxInt32 { // would wrap negative in a 32-bit int
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}
