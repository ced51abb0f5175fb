//go:build linux

package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Limits are what ParentCgroup writes into the cgroup it creates. Zero
// leaves a file at the kernel's default (unlimited).
type Limits struct {
	CPUQuota  int64  // cpu.cfs_quota_us
	CPUPeriod uint64 // cpu.cfs_period_us
	Memory    int64  // memory.limit_in_bytes
}

// ParentCgroup creates a cgroup /rightsize-parent-<hex> with lim in the v1
// cpu and memory hierarchies, for `run --cgroup-parent`; the engine's
// runtime creates the path in the other hierarchies. It is recorded in the
// engine's directory and removed by Stop at the latest (RemoveCgroup
// removes it earlier). cgroup v1 only: on v2 a parent needs its
// controllers enabled in every ancestor's cgroup.subtree_control, which
// the harness would have to change on the host.
func (e *Engine) ParentCgroup(lim Limits) (string, error) {
	return e.parentCgroup("/rightsize-parent-"+randomHex(10), lim)
}

// parentCgroup is ParentCgroup with the cgroup path p. p is recorded
// before it is created, so that a crash in between leaves a record of a
// missing cgroup (which cleanup passes over) rather than a cgroup nobody
// knows; when a directory cannot be created, EEXIST included (then it is
// not the harness's), the directories made so far are removed and the
// record is dropped, so that nothing the harness did not create is ever
// removed, or has its processes killed, by Stop.
func (e *Engine) parentCgroup(p string, lim Limits) (string, error) {
	cpu, err := v1Hierarchy("cpu")
	if err != nil {
		return "", err
	}
	mem, err := v1Hierarchy("memory")
	if err != nil {
		return "", err
	}
	if err := recordCgroup(e.Dir, p); err != nil {
		return "", err
	}
	cpuDir, memDir := filepath.Join(cpu.point, p), filepath.Join(mem.point, p)
	dirs := []string{cpuDir}
	if memDir != cpuDir { // cpu and memory co-mounted: one directory
		dirs = append(dirs, memDir)
	}
	var created []string
	// undo removes what this call created, and the record once nothing
	// of it is left; a directory that cannot be removed stays recorded,
	// for Stop.
	undo := func(cause error) error {
		var errs []error
		for i := len(created) - 1; i >= 0; i-- {
			if err := rmdirCgroup(created[i]); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) == 0 {
			if err := forgetCgroup(e.Dir, p); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(append([]error{cause}, errs...)...)
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", undo(fmt.Errorf("creating cgroup %s: %w", d, err))
		}
		created = append(created, d)
	}
	write := func(dir, file string, v string) error {
		return os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644)
	}
	var werr error
	if lim.CPUPeriod > 0 {
		werr = write(cpuDir, "cpu.cfs_period_us", strconv.FormatUint(lim.CPUPeriod, 10))
	}
	if werr == nil && lim.CPUQuota != 0 {
		werr = write(cpuDir, "cpu.cfs_quota_us", strconv.FormatInt(lim.CPUQuota, 10))
	}
	if werr == nil && lim.Memory > 0 {
		werr = write(memDir, "memory.limit_in_bytes", strconv.FormatInt(lim.Memory, 10))
	}
	if werr != nil {
		return "", undo(fmt.Errorf("writing the limits of %s: %w", p, werr))
	}
	return p, nil
}

// RemoveCgroup removes a cgroup made by ParentCgroup and everything below
// it, in every hierarchy (see removeCgroupTree).
func (e *Engine) RemoveCgroup(p string) error { return removeCgroupTree(p) }
