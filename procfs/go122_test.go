//go:build !go1.23

package procfs

const goAtLeast123 = false
