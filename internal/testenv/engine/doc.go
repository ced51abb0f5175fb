// Package engine runs rightsize's end-to-end tests under real container
// engines: docker (dockerd with containerd) and podman, as Debian packages
// them (apt-get install docker.io podman).
//
// The harness never touches an engine a user already runs. StartDocker
// starts a private dockerd, with the containerd it manages, whose every
// path lives under one temporary directory named
// rightsize-engine-docker-<random> (data root, exec root, containerd's
// root, state and socket below them, the API socket, the pid file, the
// log, the trust key), in a mount namespace of its own whose /run and /opt
// are empty tmpfs mounts, so that what dockerd and containerd create there
// (containerd's shim sockets in /run/containerd/s, /run/docker/plugins,
// /opt/containerd) and every mount they make (container /dev/shm, network
// namespaces) stay private and vanish with them. StartPodman needs no
// daemon: it gives podman private storage, run, tmp and lock directories,
// its own containers.conf, storage.conf and registries.conf, and a runc
// wrapper with its own state root.
//
// Images come from no registry: BuildImage compiles the rightsize command
// and internal/testenv/blankservice statically and writes a root
// filesystem tarball holding just them, which StartDocker and
// StartPodman import (docker import, podman import). Containers run with
// --network none.
//
// Everything the harness creates on the host is named so that it can be
// recognised and attributed:
//
//   - directories: $TMPDIR/rightsize-engine-{docker,podman,image}-<random>
//     (or /tmp when TMPDIR is too long for a unix socket path), each with
//     an "owner" file naming the test process (PID and start time);
//   - cgroups: dockerd's cgroup parent /rightsize-docker-<hex>/docker (so
//     that a container's cgroup is .../docker/<id>, the layout rightsize's
//     detection knows), podman's /rightsize-podman-<hex> (containers in
//     libpod-<id>, conmon in conmon), and parents made by
//     Engine.ParentCgroup, /rightsize-parent-<hex>; each is listed in the
//     directory's "cgroups" file;
//   - containers: rightsize-<12 hex>; images rightsize-e2e:latest, in the
//     private engines only.
//
// Stop ends what the engine runs (containers removed through the engine,
// then dockerd by PID, SIGTERM and after a grace period SIGKILL; dockerd
// stops its containerd), ends any engine process (dockerd, containerd, a
// shim, conmon, runc, crun, docker, podman, by the name the kernel gives
// it) still naming the directory on its command line (a shim or conmon
// left behind) and any process still in the harness's cgroups, by PID,
// removes those cgroups deepest first, unmounts whatever is still mounted
// below the directory and removes it. dockerd also gets SIGTERM from the
// kernel when the test process dies (PR_SET_PDEATHSIG), and then stops its
// containers and its containerd itself; a later run removes the
// directories (root's only), processes and cgroups of test processes that
// no longer exist before it starts its own (a podman container outlives a
// killed test process until then: conmon is not the test's child).
//
// UseDocker and UsePodman are the entry points for tests: they skip the
// test with the reason when the engine cannot run here (not Linux, not
// root, binaries missing, no mount namespace for dockerd: errors wrapping
// ErrUnavailable) or fail it when RIGHTSIZE_REQUIRE_DOCKER=1 (see package
// testenv; podman is covered by the same variable). Any other failure to
// start (a daemon that exits, an import that fails) fails the test. One engine and one image serve every test of the
// process that holds them: call UseDocker before t.Parallel, and the
// engine is stopped when the last test using it has finished.
//
//	func TestDockerSomething(t *testing.T) {
//		dk := engine.UseDocker(t)
//		t.Parallel()
//		c := dk.MustStart(t, engine.RunSpec{
//			Flags: []string{"--cpus", "1.5"},
//			Args:  []string{engine.ImageService, "-serve"},
//		})
//		first, err := c.WaitLine(30*time.Second, nil) // the service's first line
//		...
//		out, _, err := c.Exec(ctx, engine.ImageCLI, "--json")
//	}
//
// The package compiles on every GOOS; outside Linux the entry points report
// that engines need Linux.
package engine
