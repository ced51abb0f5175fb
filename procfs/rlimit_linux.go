//go:build linux

package procfs

import "golang.org/x/sys/unix"

// liveFDLimit is this process's RLIMIT_NOFILE.
func liveFDLimit() (Limit, bool) {
	var r unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &r) != nil {
		return Limit{}, false
	}
	return Limit{Soft: uint64(r.Cur), Hard: uint64(r.Max)}, true
}
