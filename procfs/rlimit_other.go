//go:build !linux

package procfs

// liveFDLimit: outside Linux the limit is read from a captured tree only.
func liveFDLimit() (Limit, bool) { return Limit{}, false }
