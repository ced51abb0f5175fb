// Package e2e holds end-to-end tests that run the rightsize command and a
// service with the blank import inside real runc containers with CPU,
// memory and pids limits (see internal/testenv/runc). It has no code of
// its own.
package e2e
