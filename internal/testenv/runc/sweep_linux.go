package runc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize/internal/testenv"
)

// Leftovers of killed runs.
//
// Run, Start and ParentCgroup clean up after themselves, in t.Cleanup or
// before they return, which a test binary killed by go test -timeout (or
// any kill) never reaches. The first harness user of every test process
// (the first Run, Start or ParentCgroup) sweeps what such runs left, under
// the harness mutex, so never while another user creates something:
//
//   - runc containers in StateRoot that have stopped and were created more
//     than testenv.StaleAge ago: `runc delete` (without -f, which refuses
//     a container that still runs). A container whose program still runs
//     is left to finish; `runc run` deletes it then.
//   - the registry (cgroup_linux.go): every recorded cgroup no live user
//     holds, with the harness-named cgroups below it. This is where a
//     killed ParentCgroup's pod and the /kubepods levels above it go.
//   - containers' cgroups at runc's default place, rightsize-<12 hex>
//     below the test process's own cgroup, which `runc run` removes unless
//     it was killed too: when their container has no state left and they
//     are older than testenv.StaleAge.
//   - bundles in the temporary directory, rightsize-<12 hex>-bundle-*,
//     when their container has no state left and the process named in
//     their name (bundlePrefix: -bundle-<pid>-) is gone; one whose
//     creator still runs stays, however old. A bundle without a PID in
//     its name (an older naming) goes once it is older than
//     testenv.StaleAge.
//
// Cgroups are removed by rmdir only, deepest first: one with a process in
// it stays, and no process is moved. Nothing without a harness name
// (names.go), or not recorded by the harness, is touched.
//
// The same first user starts the process's reaper (testenv.StartReaper):
// when the test binary ends, however it ends, the reaper waits for it to be
// gone (its locks go with it) and sweeps the registry and the bundles,
// until the registry is empty or for ten seconds; a cgroup that still holds
// a container's processes then is left to the next run.

var sweepOnce sync.Once

// reaperKind is the harness's reaper (testenv.RunReaper).
const reaperKind = "runc"

func init() {
	testenv.RunReaper(reaperKind, func(int) bool {
		empty := false
		_ = withMutex(func() error {
			_ = sweepRegistryLocked()
			removeStaleBundles(os.TempDir())
			reg, err := readRegistry()
			empty = err == nil && len(reg) == 0
			return nil
		})
		return empty
	})
}

// podUIDPrefix starts the pod UIDs of NewKubePath: "rightsize" in hex, cut
// at a UUID's fourth group.
const podUIDPrefix = "72696768-7473-697a-65"

// harnessName reports whether a cgroup name is one the harness gives:
// container IDs and UniqueName ("rightsize-..."), NewKubePath's pod
// ("pod72696768-7473-697a-65...") and container IDs ("726967687473697a65...").
func harnessName(name string) bool {
	return strings.HasPrefix(name, "rightsize-") || strings.HasPrefix(name, "pod"+podUIDPrefix) ||
		strings.HasPrefix(name, rightsizeHex)
}

var (
	containerIDPattern = regexp.MustCompile(`^rightsize-[0-9a-f]{12}$`)
	bundlePattern      = regexp.MustCompile(`^(rightsize-[0-9a-f]{12})-bundle-(?:(\d+)-)?`)
)

// sweepLeftoversLocked does the sweep described above. It runs under the
// harness mutex; it is best effort, since whatever stays is tried again by
// the next process's first user.
func sweepLeftoversLocked() {
	deleteStoppedContainers()
	_ = sweepRegistryLocked()
	hs, err := hostHierarchies()
	if err == nil {
		for _, h := range hs {
			own, ok := h.dir(h.path)
			if h.path == "" || !ok {
				continue
			}
			ents, _ := os.ReadDir(own)
			for _, e := range ents {
				d := filepath.Join(own, e.Name())
				if e.IsDir() && containerIDPattern.MatchString(e.Name()) && !hasState(e.Name()) && olderThan(d, testenv.StaleAge) {
					_ = removeIdleTree(d)
				}
			}
		}
	}
	removeStaleBundles(os.TempDir())
}

// hasState reports whether runc has state for container id under StateRoot
// (a container that exists, running or not).
func hasState(id string) bool {
	_, err := os.Lstat(filepath.Join(StateRoot, id))
	return err == nil
}

func olderThan(p string, age time.Duration) bool {
	fi, err := os.Lstat(p)
	return err == nil && time.Since(fi.ModTime()) > age
}

// deleteStoppedContainers deletes the harness containers that stopped
// long ago; their `runc run` must have died with the test that ran them.
func deleteStoppedContainers() {
	if _, err := os.Stat(StateRoot); err != nil {
		return
	}
	runcPath, err := runcBinary()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, runcPath, "--root", StateRoot, "list", "--format", "json").Output()
	if err != nil {
		return
	}
	var list []struct {
		ID      string    `json:"id"`
		Status  string    `json:"status"`
		Created time.Time `json:"created"`
	}
	if json.Unmarshal(out, &list) != nil {
		return
	}
	for _, c := range list {
		if c.Status == "stopped" && containerIDPattern.MatchString(c.ID) && time.Since(c.Created) > testenv.StaleAge {
			_ = runcCmd(runcPath, "delete", c.ID) // no -f: a running one is refused
		}
	}
}

// bundlePrefix is the start of the name of container id's bundle, for
// os.MkdirTemp: "<id>-bundle-<pid>-", with the PID of the process that
// creates it (as testenv.CgroupName puts it in cgroup names), which tells
// a later sweep whether the bundle's creator is gone.
func bundlePrefix(id string) string {
	return fmt.Sprintf("%s-bundle-%d-", id, os.Getpid())
}

// bundleCreator returns the container ID and the creator's PID (0 when the
// name carries none) of a bundle's name, and whether it is a bundle's.
func bundleCreator(name string) (id string, pid int, ok bool) {
	m := bundlePattern.FindStringSubmatch(name)
	if m == nil {
		return "", 0, false
	}
	pid, err := strconv.Atoi(m[2])
	if err != nil || pid <= 0 {
		pid = 0
	}
	return m[1], pid, true
}

// staleBundle reports whether the bundle name, last changed at mtime, is a
// leftover, its container having no state: its creator (by the PID in the
// name) is gone, or, without a PID, it is older than testenv.StaleAge. A
// bundle of this process (self) or of a creator that still runs is never
// one.
func staleBundle(name string, mtime time.Time, self int) bool {
	_, pid, ok := bundleCreator(name)
	switch {
	case !ok:
		return false
	case pid == 0:
		return time.Since(mtime) > testenv.StaleAge
	case pid == self:
		return false
	default:
		return !testenv.CreatorAlive(pid, mtime)
	}
}

// removeStaleBundles removes the bundles in dir whose container is gone
// and that are left over (staleBundle).
func removeStaleBundles(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		id, _, ok := bundleCreator(e.Name())
		if !e.IsDir() || !ok || hasState(id) {
			continue
		}
		fi, err := e.Info() // an lstat: e.IsDir says it is no symbolic link
		if err != nil {
			continue
		}
		if staleBundle(e.Name(), fi.ModTime(), os.Getpid()) {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
