//go:build linux

package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type podmanBinaries struct {
	podman, sh           string
	runtime, runtimePath string // runc or crun
}

var podmanAvail = sync.OnceValues(func() (podmanBinaries, error) {
	var b podmanBinaries
	if err := rootAndCgroups(); err != nil {
		return b, err
	}
	var errs []error
	var err error
	if b.podman, err = lookBinary("podman", EnvPodman); err != nil {
		errs = append(errs, err)
	}
	// podman finds conmon itself; the OCI runtime is named in the private
	// containers.conf: runc (which docker.io brings) or else crun.
	if p, err := lookBinary("runc", ""); err == nil {
		b.runtime, b.runtimePath = "runc", p
	} else if p, err := lookBinary("crun", ""); err == nil {
		b.runtime, b.runtimePath = "crun", p
	} else {
		errs = append(errs, errors.New("no OCI runtime (runc or crun)"))
	}
	if b.sh, err = lookBinary("sh", ""); err != nil {
		errs = append(errs, err)
	}
	if _, err := lookBinary("mount", ""); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return b, fmt.Errorf("%w: podman: %v (Debian: apt-get install podman)", ErrUnavailable, errors.Join(errs...))
	}
	return b, nil
})

// StartPodman prepares a private podman and imports img as PodmanImage.
// podman has no daemon; every command gets
//
//	--root, --runroot, --tmpdir    below the private directory
//	--storage-driver vfs           no overlay mounts
//	--cgroup-manager cgroupfs      no systemd needed
//	--events-backend none          no journal, no events file
//
// and the environment points CONTAINERS_CONF, CONTAINERS_STORAGE_CONF and
// CONTAINERS_REGISTRIES_CONF at private files, so /etc/containers and
// /usr/share/containers are not read (conmon passes CONTAINERS_CONF on to
// the `podman container cleanup` it runs when a container exits). The
// private containers.conf sets lock_type "file" (locks below the tmp
// directory instead of /dev/shm/libpod_lock, which every rootful podman
// shares) and names as the OCI runtime a wrapper, <dir>/bin/runc, that
// runs the real runc (or crun) with --root <dir>/runc: rootful podman
// leaves the runtime's state in /run/runc otherwise, and --runtime-flag
// would not reach the cleanup command. Containers run with --network none
// below the cgroup parent /rightsize-podman-<hex>.
//
// Two things do not follow from those settings and are handled here:
// `podman import` writes the blob info cache
// /var/lib/containers/cache/blob-info-cache-v1.boltdb whatever --root
// says, so the import runs in a mount namespace of its own with a tmpfs
// on /var/lib; and where the process lacks CAP_SYS_RESOURCE (sandboxes,
// some CI runners) runc cannot give a container podman's default
// RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, so containers then get the
// limits this process has (nproc at most kernel.pid_max, which podman
// lowers its own limit to).
func StartPodman(ctx context.Context, img *Image) (_ *Engine, err error) {
	b, err := podmanAvail()
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, errors.New("StartPodman: no image")
	}
	sweepOnce.Do(sweepStale)
	t0 := time.Now()
	dir, err := newDir("podman")
	if err != nil {
		return nil, err
	}
	e := &Engine{Kind: "podman", Dir: dir, Img: img, bin: b.podman}
	e.stopFn = func() error { return stopPodman(e) }
	defer func() {
		if err != nil {
			if serr := e.Stop(); serr != nil {
				err = fmt.Errorf("%w\ncleanup: %v", err, serr)
			}
		}
	}()
	e.cgroupRoot = "/rightsize-podman-" + randomHex(10)
	e.ctrParent = e.cgroupRoot
	if err := recordCgroup(dir, e.cgroupRoot); err != nil {
		return nil, err
	}
	sub := func(s string) string { return filepath.Join(dir, s) }
	for _, d := range []string{"root", "runroot", "tmp", "runc", "networks", "bin"} {
		if err := os.MkdirAll(sub(d), 0o700); err != nil {
			return nil, err
		}
	}
	wrapper := sub("bin/" + b.runtime)
	if err := os.WriteFile(wrapper, []byte(fmt.Sprintf("#!%s\nexec %s --root %s \"$@\"\n", b.sh, shellQuote(b.runtimePath), shellQuote(sub("runc")))), 0o755); err != nil {
		return nil, err
	}
	files := map[string]string{
		"containers.conf": fmt.Sprintf(`[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "none"
lock_type = "file"
num_locks = 256
runtime = %q
tmp_dir = %q
static_dir = %q
volume_path = %q

[engine.runtimes]
%s = [%q]

[network]
network_config_dir = %q
`, b.runtime, sub("tmp"), sub("root/libpod"), sub("root/volumes"), b.runtime, wrapper, sub("networks")),
		"storage.conf": fmt.Sprintf(`[storage]
driver = "vfs"
graphroot = %q
runroot = %q
`, sub("root"), sub("runroot")),
		"registries.conf": "unqualified-search-registries = []\n",
	}
	for name, content := range files {
		if err := os.WriteFile(sub(name), []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	e.global = []string{
		"--root", sub("root"), "--runroot", sub("runroot"), "--tmpdir", sub("tmp"),
		"--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none",
	}
	e.env = environ([]string{"CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF", "TMPDIR"},
		"CONTAINERS_CONF="+sub("containers.conf"), "CONTAINERS_STORAGE_CONF="+sub("storage.conf"),
		"CONTAINERS_REGISTRIES_CONF="+sub("registries.conf"), "TMPDIR="+sub("tmp"))
	e.runDefaults = []string{"--network", "none", "--cgroup-parent", e.cgroupRoot}
	if !hasCapSysResource() {
		var nofile, nproc syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
			return nil, err
		}
		if err := syscall.Getrlimit(6 /* RLIMIT_NPROC */, &nproc); err != nil {
			return nil, err
		}
		nf, np := min(nofile.Max, 1<<20), nproc.Max
		if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
			if pm, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
				np = min(np, pm)
			}
		}
		e.runDefaults = append(e.runDefaults, "--ulimit", fmt.Sprintf("nofile=%d:%d", nf, nf), "--ulimit", fmt.Sprintf("nproc=%d:%d", np, np))
	}
	out, err := e.Output(ctx, "version", "--format", "{{.Client.Version}}")
	if err != nil {
		return nil, err
	}
	e.Version = strings.TrimSpace(out)
	if _, err := e.Output(ctx, "info", "--format", "{{.Host.CgroupManager}}"); err != nil {
		return nil, err
	}
	e.StartTime = time.Since(t0)

	t1 := time.Now()
	cmd := e.Command(ctx, "import", img.Tar, PodmanImage)
	cmd.Args = append([]string{b.sh, "-c", `mount -n -t tmpfs -o mode=0700,size=16m rightsize-varlib /var/lib && exec "$0" "$@"`}, cmd.Args...)
	cmd.Path = b.sh
	cmd.SysProcAttr.Unshareflags = syscall.CLONE_NEWNS
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("podman import: %w\n%s", err, out)
	}
	e.Image = PodmanImage
	e.ImportTime = time.Since(t1)
	return e, nil
}

// stopPodman removes every container of the private storage, ends conmon
// and anything else left naming the directory, and cleans it up.
func stopPodman(e *Engine) error {
	var errs []error
	if e.global != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := e.Output(ctx, "rm", "--all", "--force", "--time", "0"); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if err := cleanupDir(e.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
