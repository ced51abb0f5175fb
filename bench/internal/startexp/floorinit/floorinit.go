// Package floorinit is the start-up experiment's floor: imported by the
// "floor" variant of a program, its init does the file work the blank
// import's init does in the same cgroup — it opens, reads to the end and
// closes each file, and stats each marker, named on the command line as
// open:PATH and stat:PATH (traced from the library by the experiment, see
// the tracer command) — with plain system calls, no parsing and no
// allocation: the kernel's share of the import's start, cold.
//
// It reads its arguments from os.Args, so it imports os; the web program
// imports os anyway, an empty main does not (the deps variant shows what
// the imports alone cost).
package floorinit

import (
	"os"
	"strings"
	"syscall"
)

// buf is the read buffer (64 KiB, as the reader benchmarks' floors use).
var buf [64 << 10]byte

func init() {
	var st syscall.Stat_t
	for _, a := range os.Args[1:] {
		switch {
		case strings.HasPrefix(a, "stat:"):
			_ = syscall.Stat(a[len("stat:"):], &st)
		case strings.HasPrefix(a, "open:"):
			fd, err := syscall.Open(a[len("open:"):], syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				continue // a file the library found missing: its open counts
			}
			for {
				n, err := syscall.Read(fd, buf[:])
				if err != nil || n <= 0 {
					break
				}
			}
			_ = syscall.Close(fd)
		}
	}
}
