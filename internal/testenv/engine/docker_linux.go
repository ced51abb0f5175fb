//go:build linux

package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemonPath is added to the daemons' PATH: containerd looks for its shim
// and runc there, dockerd for docker-init.
const daemonPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookBinary finds name: the path in env if set, else PATH, else the usual
// directories (go test may run with a PATH without /usr/sbin).
func lookBinary(name, env string) (string, error) {
	if env != "" {
		if p := os.Getenv(env); p != "" {
			return exec.LookPath(p)
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range filepath.SplitList(daemonPath) {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or %s", name, daemonPath)
}

type dockerBinaries struct {
	client, dockerd, sh string
	// hideOpt: /opt exists and holds none of the binaries the daemon
	// runs, so it can be covered in the daemon's mount namespace.
	hideOpt bool
	// dockerdMajor is dockerd's major version (0 when unknown).
	dockerdMajor int
}

// findDockerClient prefers the client installed with dockerd (Debian:
// /usr/sbin/dockerd and /usr/bin/docker) over another one earlier in PATH
// (a newer client speaks an older daemon's API, but the pair that was
// tested together is the one to use).
func findDockerClient(dockerd string) (string, error) {
	if p := os.Getenv(EnvDocker); p != "" {
		return exec.LookPath(p)
	}
	dir := filepath.Dir(dockerd)
	for _, p := range []string{filepath.Join(dir, "docker"), filepath.Join(filepath.Dir(dir), "bin", "docker")} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return lookBinary("docker", "")
}

var versionRE = regexp.MustCompile(`version (\d+)\.`)

var dockerAvail = sync.OnceValues(func() (dockerBinaries, error) {
	var b dockerBinaries
	if err := rootAndCgroups(); err != nil {
		return b, err
	}
	var errs []error
	var err error
	if b.dockerd, err = lookBinary("dockerd", EnvDockerd); err != nil {
		errs = append(errs, err)
	} else if b.client, err = findDockerClient(b.dockerd); err != nil {
		errs = append(errs, err)
	}
	b.hideOpt = true
	if fi, err := os.Stat("/opt"); err != nil || !fi.IsDir() {
		b.hideOpt = false
	}
	for _, name := range []string{"containerd", "containerd-shim-runc-v2", "runc", "docker-init", "mount"} {
		p, err := lookBinary(name, "")
		if err != nil && name != "docker-init" {
			errs = append(errs, err)
		}
		if strings.HasPrefix(p, "/opt/") {
			b.hideOpt = false
		}
	}
	if strings.HasPrefix(b.dockerd, "/opt/") {
		b.hideOpt = false
	}
	if b.sh, err = lookBinary("sh", ""); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return b, fmt.Errorf("%w: docker: %v (Debian: apt-get install docker.io)", ErrUnavailable, errors.Join(errs...))
	}
	if out, err := exec.Command(b.dockerd, "--version").Output(); err == nil {
		if m := versionRE.FindSubmatch(out); m != nil {
			b.dockerdMajor, _ = strconv.Atoi(string(m[1]))
		}
	}
	return b, nil
})

func rootAndCgroups() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: engines need root (euid %d)", ErrUnavailable, os.Geteuid())
	}
	hs, err := hostHierarchies()
	if err != nil || len(hs) == 0 {
		return fmt.Errorf("%w: no cgroup hierarchy is mounted (%v)", ErrUnavailable, err)
	}
	return nil
}

// Available reports whether engine kind ("docker" or "podman") can run
// here, and if not, why. It checks root, cgroups and the binaries; whether
// the daemon really starts is known only when StartDocker tries.
func Available(kind string) error {
	switch kind {
	case "docker":
		_, err := dockerAvail()
		return err
	case "podman":
		_, err := podmanAvail()
		return err
	}
	return fmt.Errorf("unknown engine %q", kind)
}

// daemon is a process the harness started and waits for.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startDaemon(name string, cmd *exec.Cmd, logPath string) (*daemon, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		f.Close()
		close(d.done)
	}()
	return d, nil
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the daemon by its PID, then SIGKILL after grace.
func (d *daemon) stop(grace time.Duration) error {
	if d == nil || d.exited() {
		return nil
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return nil
	case <-time.After(grace):
	}
	d.cmd.Process.Kill()
	select {
	case <-d.done:
		return fmt.Errorf("%s (pid %d) did not stop within %v of SIGTERM; killed", d.name, d.cmd.Process.Pid, grace)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", d.name, d.cmd.Process.Pid)
	}
}

// logTail returns the end of a log file, for error messages.
func logTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		f.Seek(fi.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// StartDocker starts a private dockerd (with the containerd it manages)
// and imports img as DockerImage. See the package documentation for what
// is private and how it is cleaned up; Stop ends it.
//
// dockerd runs in a new mount namespace (propagation private) whose /run
// and /opt are empty tmpfs mounts: containerd 1.6 puts its shims' sockets
// in /run/containerd/s whatever its state directory and creates
// /opt/containerd (its "opt" plugin), dockerd creates /run/docker/plugins,
// and none of that may appear on the host. Every mount they make
// (container /dev/shm, network namespaces) stays in that namespace too.
// dockerd starts and stops its containerd itself (a child of dockerd, with
// root, state and socket below the exec and data roots), so that when the
// test process dies and the kernel sends dockerd SIGTERM
// (PR_SET_PDEATHSIG), dockerd can still stop its containers through
// containerd before it ends containerd. The trust key dockerd 20.10 writes
// to /etc/docker/key.json goes to the private directory
// (deprecated-key-path in a private daemon.json, which also keeps
// /etc/docker/daemon.json out).
func StartDocker(ctx context.Context, img *Image) (_ *Engine, err error) {
	b, err := dockerAvail()
	if err != nil {
		return nil, err
	}
	if img == nil {
		return nil, errors.New("StartDocker: no image")
	}
	sweepOnce.Do(sweepStale)
	t0 := time.Now()
	dir, err := newDir("docker")
	if err != nil {
		return nil, err
	}
	e := &Engine{Kind: "docker", Dir: dir, Img: img, bin: b.client}
	var dkd *daemon
	sock := filepath.Join(dir, "docker.sock")
	e.stopFn = func() error { return stopDocker(e, dkd) }
	defer func() {
		if err != nil {
			logs := ""
			if t := strings.TrimSpace(logTail(filepath.Join(dir, "dockerd.log"), 4000)); t != "" {
				logs += "\n--- dockerd.log (end):\n" + t
			}
			if serr := e.Stop(); serr != nil {
				logs += "\n--- cleanup: " + serr.Error()
			}
			err = fmt.Errorf("%w%s", err, logs)
		}
	}()

	e.cgroupRoot = "/rightsize-docker-" + randomHex(10)
	e.ctrParent = e.cgroupRoot + "/docker"
	if err := recordCgroup(dir, e.cgroupRoot); err != nil {
		return nil, err
	}
	for _, d := range []string{"data", "exec", "client"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	daemonJSON := "{}"
	if b.dockerdMajor > 0 && b.dockerdMajor < 23 {
		daemonJSON = fmt.Sprintf(`{"deprecated-key-path": %q}`, filepath.Join(dir, "key.json"))
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte(daemonJSON), 0o644); err != nil {
		return nil, err
	}
	script := `mount -n -t tmpfs -o mode=0755,size=64m rightsize-run /run`
	if b.hideOpt {
		script += ` && mount -n -t tmpfs -o mode=0755,size=16m rightsize-opt /opt`
	}
	script += ` && exec "$0" "$@"`
	cmd := exec.Command(b.sh, "-c", script, b.dockerd,
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--host", "unix://"+sock,
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--containerd-namespace", "rightsize",
		"--containerd-plugins-namespace", "rightsize-plugins",
		"--storage-driver", "vfs",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", e.ctrParent,
		"--bridge", "none",
		"--iptables=false",
		"--ip-forward=false",
		"--ip-masq=false",
		"--userland-proxy=false",
		"--shutdown-timeout", "5",
	)
	cmd.Env = environ([]string{"PATH", "NOTIFY_SOCKET", "DOCKER_HOST"}, "PATH="+os.Getenv("PATH")+":"+daemonPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGTERM}
	if dkd, err = startDaemon("dockerd", cmd, filepath.Join(dir, "dockerd.log")); err != nil {
		if errors.Is(err, syscall.EPERM) {
			// Root without CAP_SYS_ADMIN (a container, a sandbox): no
			// mount namespace for the daemon, so no private daemon here.
			return nil, fmt.Errorf("%w: dockerd needs a mount namespace of its own: %v", ErrUnavailable, err)
		}
		return nil, err
	}
	client := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	defer client.CloseIdleConnections()
	if err := waitFor(ctx, dkd, func() bool {
		resp, err := client.Get("http://docker/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return nil, fmt.Errorf("dockerd did not start: %w", err)
	}
	e.StartTime = time.Since(t0)

	e.global = []string{"--host", "unix://" + sock}
	e.env = environ([]string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"}, "DOCKER_CONFIG="+filepath.Join(dir, "client"))
	e.runDefaults = []string{"--network", "none"}
	out, err := e.Output(ctx, "version", "--format", "{{.Server.Version}}")
	if err != nil {
		return nil, err
	}
	e.Version = strings.TrimSpace(out)

	t1 := time.Now()
	if _, err := e.Output(ctx, "import", img.Tar, DockerImage); err != nil {
		return nil, err
	}
	e.Image = DockerImage
	e.ImportTime = time.Since(t1)
	return e, nil
}

// waitFor polls ready until it reports true, d exits or ctx ends.
func waitFor(ctx context.Context, d *daemon, ready func() bool) error {
	for {
		if ready() {
			return nil
		}
		select {
		case <-d.done:
			return fmt.Errorf("%s exited: %v", d.name, d.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// stopDocker removes every container of the private daemon through its
// API, stops dockerd by PID (dockerd stops its containerd), and cleans the
// directory up (see cleanupDir).
func stopDocker(e *Engine, dkd *daemon) error {
	var errs []error
	if dkd != nil && !dkd.exited() && e.global != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := e.Output(ctx, "ps", "--all", "--quiet", "--no-trunc")
		if err != nil {
			errs = append(errs, err)
		} else if ids := strings.Fields(out); len(ids) > 0 {
			if _, err := e.Output(ctx, append([]string{"rm", "--force"}, ids...)...); err != nil {
				errs = append(errs, err)
			}
		}
		cancel()
	}
	if err := dkd.stop(30 * time.Second); err != nil {
		errs = append(errs, err)
	}
	if err := cleanupDir(e.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
