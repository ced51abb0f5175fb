//go:build go1.23

package reaper

// osKeepsPidfds: since Go 1.23 os.StartProcess keeps a pidfd for each
// child it starts, where the kernel has pidfds, until Wait or Release.
const osKeepsPidfds = true
