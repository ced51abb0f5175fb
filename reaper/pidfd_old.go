//go:build !go1.23

package reaper

// osKeepsPidfds: before Go 1.23 os.StartProcess keeps no pidfd, so a
// reaper cannot tell os/exec's children from orphans.
const osKeepsPidfds = false
