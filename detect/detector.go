package detect

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/rightsize/rightsize/internal/rootfs"
	"github.com/rightsize/rightsize/procfs"
)

// strength orders signals. A conclusion is taken from the strongest signal
// that gives one; on a tie the signal checked first wins. Every signal that
// disagrees with the winner is listed as a conflict.
type strength int

const (
	// hint: a property of the machine that every container on it shares
	// (a WSL kernel is also the kernel of Docker Desktop's containers).
	hint strength = iota + 1
	// weak: a file any image or user could leave behind (/.dockerenv).
	weak
	// medium: set up by a runtime or orchestrator but also settable by
	// hand (environment variables, container=, runtime state files and
	// mount sources).
	medium
	// strong: written by the kernel for this very process
	// (/proc/self/cgroup, mountinfo roots of kubelet-owned files).
	strong
)

func (s strength) String() string {
	switch s {
	case hint:
		return "hint"
	case weak:
		return "weak"
	case medium:
		return "medium"
	case strong:
		return "strong"
	}
	return "strength(" + strconv.Itoa(int(s)) + ")"
}

// claim is one signal's answer to one question.
type claim struct {
	value    string
	strength strength
	source   string // file or variable, as shown to the user
}

// detector collects claims and evidence for one detection.
type detector struct {
	fs   procfs.FS
	root rootfs.Root
	live bool

	ev    []Evidence
	retry bool // a failure that may pass: do not cache the result

	environ []string
	haveEnv bool

	runtimes    []claim  // answers to "which runtime"
	generic     []claim  // "a container", naming no runtime (container=oci, ECS, Cloud Run)
	orchestra   []claim  // ecs, cloud-run, nomad from the environment
	k8sStrong   []string // sources of strong Kubernetes signals
	k8sMedium   []string // sources of medium ones
	standalone  *claim   // /proc/self/cgroup shows a container outside any pod
	podUIDs     []claim  // from the cgroup path and mountinfo roots
	qos         []claim  // from the cgroup path; oom_score_adj is read in decide
	containerID string   // from the cgroup path only
	namespace   string
	storage     []string // sources of containers/storage mounts (podman or CRI-O)
}

// run performs one detection. conclusive is false when a failure may pass
// on retry.
func run(c config) (env Env, conclusive bool) {
	d := &detector{fs: procfs.NewFS(c.root), root: rootfs.New(c.root)}
	d.live = d.fs.IsLive()
	d.collect()
	env = d.decide()
	return env, !d.retry
}

func (d *detector) note(signal Signal, format string, args ...any) {
	d.ev = append(d.ev, Evidence{Signal: signal, Detail: fmt.Sprintf(format, args...)})
}

// skipped records a file that could not be used. Detection goes on without
// it. A transient failure makes the result inconclusive.
func (d *detector) skipped(signal Signal, err error) {
	switch {
	case errors.Is(err, procfs.ErrMalformed), errors.Is(err, procfs.ErrTooLarge), errors.Is(err, procfs.ErrNotRegular):
		d.note(signal, "skipped: %v", err)
	case transient(err):
		d.retry = true
		d.note(signal, "unreadable, skipped (transient: the result is not cached): %v", err)
	default:
		d.note(signal, "unreadable, skipped: %v", err)
	}
	d.ev[len(d.ev)-1].Err = err
}

// Mount points whose mountinfo roots are examined. The kubelet asks for the
// service account at /var/run/secrets/...; runc resolves a mount
// destination inside the rootfs (securejoin), so where the image has
// /var/run -> /run, mountinfo shows /run/secrets/....
const (
	saDir       = "/var/run/secrets/kubernetes.io/serviceaccount"
	saDirRun    = "/run/secrets/kubernetes.io/serviceaccount"
	maxMounts   = 32
	etcHosts    = "/etc/hosts"
	etcHostname = "/etc/hostname"
	etcResolv   = "/etc/resolv.conf"
	termLog     = "/dev/termination-log"
)

func (d *detector) collect() {
	if d.live && runtime.GOOS == "linux" {
		// Without /proc nothing below says anything: a program running as
		// init before mounting it (the qemu tests' /init) must not cache
		// "not a container".
		if _, err := d.root.Stat("/proc/self"); err != nil {
			d.retry = true
			d.note("proc", "%v: /proc is not mounted; the result is not cached", err)
		}
	}
	d.readEnviron()
	d.checkCgroup()
	d.checkMountInfo()
	d.checkEnvVars()
	d.checkServiceAccount()
	d.checkHosts()
	d.checkDockerEnv()
	d.checkContainerEnv()
	d.checkInitEnviron()
	d.checkSystemdContainer()
	d.checkOSRelease()
}

// readEnviron takes the process environment from os.Environ on the live
// system and from <root>/proc/self/environ otherwise: nothing of a fixture
// or a capture may come from the process running the detection.
func (d *detector) readEnviron() {
	if d.live {
		d.environ, d.haveEnv = os.Environ(), true
		return
	}
	env, err := d.fs.Environ("self")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("environ", err)
		} else {
			d.note("environ", "/proc/self/environ does not exist: no environment variables to check")
		}
		return
	}
	d.environ, d.haveEnv = env, true
}

// checkCgroup reads /proc/self/cgroup. Not /proc/1/cgroup: with
// shareProcessNamespace PID 1 is the pod's pause container, whose cgroup is
// not this container's.
func (d *detector) checkCgroup() {
	lines, err := d.fs.Cgroup("self")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.note("cgroup", "/proc/self/cgroup does not exist: no cgroups (a kernel without CONFIG_CGROUPS, or not Linux)")
			return
		}
		d.skipped("cgroup", err)
		return
	}

	// Every line is examined (v1 has one per hierarchy); the most telling
	// one wins: a pod path over a plain container path, one with a
	// container ID over one without.
	var best CgroupPath
	var bestLine procfs.CgroupLine
	bestScore := 0
	allRoot, outside := true, ""
	for _, l := range lines {
		if l.Path != "/" {
			allRoot = false
		}
		if outside == "" && (l.Path == "/.." || strings.HasPrefix(l.Path, "/../")) {
			outside = l.Path
		}
		cp, ok := ParseCgroupPath(l.Path)
		if !ok {
			continue
		}
		score := 1
		if cp.Kubernetes {
			score += 2
		}
		if cp.ContainerID != "" {
			score++
		}
		if score > bestScore {
			best, bestLine, bestScore = cp, l, score
		}
	}
	const src = "/proc/self/cgroup"
	if bestScore == 0 {
		switch {
		case allRoot:
			d.note("cgroup", "%s shows only \"/\": a private cgroup namespace (the default on cgroup v2) or the root cgroup; the path names no container, so no container ID can be read from it", src)
		case outside != "":
			d.note("cgroup", "%s path %q starts with /..: the cgroup lies outside this process's cgroup namespace", src, clip(outside))
		default:
			shown := lines[0]
			for _, l := range lines {
				if l.Path != "/" {
					shown = l
					break
				}
			}
			d.note("cgroup", "%s line %q names no container or pod (a host path or an unknown runtime)", src, clip(formatLine(shown)))
		}
		return
	}

	line := clip(formatLine(bestLine))
	if best.Kubernetes {
		d.k8sStrong = append(d.k8sStrong, src)
		d.podUIDs = append(d.podUIDs, claim{best.PodUID, strong, src})
		d.qos = append(d.qos, claim{string(best.QOSClass), strong, src})
		d.containerID = best.ContainerID
		what := fmt.Sprintf("Kubernetes pod %s, QoS %s", best.PodUID, best.QOSClass)
		switch {
		case best.ContainerID != "" && best.Runtime != "":
			what += fmt.Sprintf(", %s container %s", best.Runtime, best.ContainerID)
		case best.ContainerID != "":
			what += fmt.Sprintf(", container %s (a bare ID: containerd or docker with the cgroupfs driver)", best.ContainerID)
		case best.Runtime != "":
			what += fmt.Sprintf(", runtime %s, no container ID in the path", best.Runtime)
		default:
			what += ", no container ID in the path"
		}
		d.note("cgroup", "%s line %q (strong): %s", src, line, what)
	} else {
		c := claim{string(best.Runtime), strong, src}
		d.standalone = &c
		d.containerID = best.ContainerID
		what := string(best.Runtime) + " container"
		if best.ContainerID != "" {
			what += " " + best.ContainerID
		}
		d.note("cgroup", "%s line %q (strong): %s", src, line, what)
	}
	if best.Runtime != "" {
		d.runtimes = append(d.runtimes, claim{string(best.Runtime), strong, src})
	}
}

func formatLine(l procfs.CgroupLine) string {
	list := strings.Join(l.Controllers, ",")
	if l.Name != "" {
		if list != "" {
			list += ","
		}
		list += "name=" + l.Name
	}
	return strconv.Itoa(l.HierarchyID) + ":" + list + ":" + l.Path
}

// checkMountInfo looks at the roots of the few bind mounts that the kubelet
// and the runtimes set up in every container.
func (d *detector) checkMountInfo() {
	type mount struct{ point, root string }
	var mounts []mount
	var cgroupView *mount // a cgroup mount showing only part of its hierarchy
	_, err := d.fs.ScanMountInfo("self", nil, func(v *procfs.MountInfoView) bool {
		if cgroupView == nil && (string(v.FSType) == "cgroup" || string(v.FSType) == "cgroup2") && string(v.Root) != "/" {
			cgroupView = &mount{string(v.MountPoint), string(v.Root)}
		}
		switch string(v.MountPoint) {
		case etcHosts, etcHostname, etcResolv, termLog, saDir, saDirRun:
			mounts = append(mounts, mount{string(v.MountPoint), string(v.Root)})
		}
		// A handful is normal (a mount point covered twice at most); a
		// file repeating them without end is not worth reading further.
		return len(mounts) < maxMounts
	})
	if errors.Is(err, fs.ErrNotExist) {
		d.note("mountinfo", "/proc/self/mountinfo does not exist")
		return
	}
	if err != nil {
		d.skipped("mountinfo", err)
		// The mounts seen before the failure are still evidence.
	}
	const src = "/proc/self/mountinfo"
	if cgroupView != nil {
		// A host mounts cgroupfs from the hierarchy's root; a container
		// runtime without a cgroup namespace bind-mounts the container's
		// own cgroup instead (docker and runc on cgroup v1), so the mount
		// root is that cgroup. It says "a container", not which runtime.
		source := fmt.Sprintf("%s (%s)", src, cgroupView.point)
		d.generic = append(d.generic, claim{"container", medium, source})
		d.note("mountinfo", "%s: %s is mounted from cgroup %q, not the hierarchy's root (medium): a container's bind-mounted cgroup view", src, cgroupView.point, clip(cgroupView.root))
	}
	for _, m := range mounts {
		source := fmt.Sprintf("%s (%s)", src, m.point)
		switch m.point {
		case etcHosts, termLog, saDir, saDirRun:
			if uid, ok := podUIDFromMountRoot(m.root); ok {
				d.k8sStrong = append(d.k8sStrong, source)
				d.podUIDs = append(d.podUIDs, claim{uid, strong, source})
				d.note("mountinfo", "%s: %s is mounted from %q (strong): a kubelet pod directory, pod %s", src, m.point, clip(m.root), uid)
				continue
			}
		}
		switch m.point {
		case etcHosts, etcHostname, etcResolv:
			kind, ok := runtimeFromMountRoot(m.root)
			if !ok {
				continue
			}
			switch kind {
			case mountContainersStorage:
				d.storage = append(d.storage, source)
				d.note("mountinfo", "%s: %s is mounted from %q (medium): containers/storage, used by podman and CRI-O", src, m.point, clip(m.root))
			default:
				d.runtimes = append(d.runtimes, claim{kind, medium, source})
				d.note("mountinfo", "%s: %s is mounted from %q (medium): %s's container state directory", src, m.point, clip(m.root), kind)
			}
		}
	}
}

// checkEnvVars looks at the variables orchestrators set in every container.
func (d *detector) checkEnvVars() {
	if !d.haveEnv {
		return
	}
	if v, ok := procfs.Getenv(d.environ, "KUBERNETES_SERVICE_HOST"); ok {
		d.k8sMedium = append(d.k8sMedium, "$KUBERNETES_SERVICE_HOST")
		d.note("environ", "KUBERNETES_SERVICE_HOST=%s (medium): the kubelet sets it in every container", clip(v))
	}
	for _, k := range []string{"ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI"} {
		if v, ok := procfs.Getenv(d.environ, k); ok {
			c := claim{"ecs", medium, "$" + k}
			d.orchestra = append(d.orchestra, c)
			d.generic = append(d.generic, c)
			d.note("environ", "%s=%s (medium): the ECS agent sets it in every task container", k, clip(v))
			break
		}
	}
	for _, k := range []string{"K_SERVICE", "K_REVISION", "CLOUD_RUN_JOB"} {
		if v, ok := procfs.Getenv(d.environ, k); ok {
			c := claim{"cloud-run", medium, "$" + k}
			d.orchestra = append(d.orchestra, c)
			d.generic = append(d.generic, c)
			d.note("environ", "%s=%s (medium): set by Cloud Run and Knative", k, clip(v))
			break
		}
	}
	if v, ok := procfs.Getenv(d.environ, "NOMAD_ALLOC_ID"); ok {
		// Nomad's exec and raw_exec drivers set it too: Nomad does not
		// imply a container.
		d.orchestra = append(d.orchestra, claim{"nomad", medium, "$NOMAD_ALLOC_ID"})
		d.note("environ", "NOMAD_ALLOC_ID=%s (medium): Nomad sets it for every task, containerised or not", clip(v))
	}
}

// checkServiceAccount looks for the service account directory the kubelet
// mounts (absent when automountServiceAccountToken is false) and its
// namespace file.
func (d *detector) checkServiceAccount() {
	for _, dir := range []string{saDir, saDirRun} {
		fi, err := d.stat(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				d.skipped("serviceaccount", err)
			}
			continue
		}
		if !fi.IsDir() {
			continue
		}
		d.k8sMedium = append(d.k8sMedium, dir)
		d.note("serviceaccount", "%s exists (medium): the kubelet mounts the service account there", dir)
		data, err := d.readFile(dir+"/namespace", 256)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				d.skipped("serviceaccount", err)
			}
			return
		}
		ns := strings.TrimSpace(string(data))
		if validNamespace(ns) {
			d.namespace = ns
			d.note("serviceaccount", "%s/namespace: %q", dir, ns)
		} else {
			d.note("serviceaccount", "%s/namespace: %q is not a namespace name; ignored", dir, clip(ns))
		}
		return
	}
}

// checkHosts reads the first line of /etc/hosts. The kubelet writes its own
// hosts file headed "# Kubernetes-managed hosts file." (or
// "# Kubernetes-managed hosts file (host network)." for hostNetwork pods).
func (d *detector) checkHosts() {
	data, err := d.readHead(etcHosts, 256)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("hosts", err)
		}
		return
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSpace(line)
	if bytes.HasPrefix(line, []byte("# Kubernetes-managed hosts file")) {
		d.k8sMedium = append(d.k8sMedium, "/etc/hosts")
		d.note("hosts", "/etc/hosts begins %q (medium): written by the kubelet", string(line))
	}
}

// checkDockerEnv: docker creates an empty /.dockerenv in every container.
// Weak: it is a leftover of the old LXC driver, other tools create it too,
// and images built with some tools carry it.
func (d *detector) checkDockerEnv() {
	if _, err := d.stat("/.dockerenv"); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("dockerenv", err)
		}
		return
	}
	d.runtimes = append(d.runtimes, claim{"docker", weak, "/.dockerenv"})
	d.note("dockerenv", "/.dockerenv exists (weak): docker creates it")
}

// checkContainerEnv: podman (and buildah) create /run/.containerenv in every
// container; it names the engine when the container is privileged.
func (d *detector) checkContainerEnv() {
	data, err := d.readFile("/run/.containerenv", 64<<10)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("containerenv", err)
		}
		return
	}
	rt := containerEnvEngine(string(data))
	how := "engine=" + rt
	if rt == "" {
		rt, how = "podman", "no usable engine line (podman fills the file in for privileged containers only)"
	}
	d.runtimes = append(d.runtimes, claim{rt, medium, "/run/.containerenv"})
	d.note("containerenv", "/run/.containerenv exists, %s (medium): %s", how, rt)
}

// checkInitEnviron reads container= from PID 1's environment, the
// convention systemd defines (https://systemd.io/CONTAINER_INTERFACE/):
// lxc, systemd-nspawn, podman and others set it; images set "docker" or
// "oci" themselves. Reading another process's environ needs ptrace access,
// so permission denied is normal for non-root: then the process's own
// environment is used, which inherits container= in the usual case.
func (d *detector) checkInitEnviron() {
	env, err := d.fs.Environ("1")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("init-environ", err)
		}
		if d.haveEnv {
			if v, ok := procfs.Getenv(d.environ, "container"); ok {
				d.containerVar("init-environ", "container= in this process's environment", v)
			}
		}
		return
	}
	v, ok := procfs.Getenv(env, "container")
	if !ok {
		d.note("init-environ", "/proc/1/environ has no container= variable")
		return
	}
	d.containerVar("init-environ", "container= in /proc/1/environ", v)
}

// checkSystemdContainer reads /run/systemd/container, which systemd (as
// PID 1 in a container) and systemd-nspawn write with the container=
// value.
func (d *detector) checkSystemdContainer() {
	data, err := d.readHead("/run/systemd/container", 256)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("systemd-container", err)
		}
		return
	}
	line, _, _ := strings.Cut(string(data), "\n")
	d.containerVar("systemd-container", "/run/systemd/container", line)
}

// containerVar interprets a container= value. "oci" (set by UBI and other
// images) and unknown forms say "a container" without naming a runtime.
func (d *detector) containerVar(signal Signal, source, value string) {
	if strings.TrimSpace(value) == "" {
		d.note(signal, "%s is empty; ignored", source)
		return
	}
	rt := runtimeName(value)
	if rt == "" || rt == "oci" {
		d.generic = append(d.generic, claim{"container", medium, source})
		d.note(signal, "%s is %q (medium): a container, runtime not named", source, clip(value))
		return
	}
	d.runtimes = append(d.runtimes, claim{rt, medium, source})
	d.note(signal, "%s is %q (medium): runtime %s", source, rt, rt)
}

// checkOSRelease: WSL kernels carry "microsoft" or "WSL" in their release.
// Only a hint: Docker Desktop's containers run on the same kernel.
func (d *detector) checkOSRelease() {
	rel, err := d.fs.OSRelease()
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("osrelease", err)
		}
		return
	}
	if isWSLRelease(rel) {
		d.runtimes = append(d.runtimes, claim{"wsl", hint, "/proc/sys/kernel/osrelease"})
		d.note("osrelease", "/proc/sys/kernel/osrelease is %q (hint): a WSL kernel", clip(rel))
	}
}

// decide turns the claims into an Env.
func (d *detector) decide() Env {
	var env Env

	// Kubernetes: a pod path in the cgroup or a kubelet pod directory in
	// mountinfo decides alone. The medium signals (environment, service
	// account, hosts file) decide when nothing strong disagrees; what
	// disagrees is a cgroup path of a container outside any pod.
	inK8s := len(d.k8sStrong) > 0
	if inK8s && d.standalone != nil {
		// Both strong: a container nested in a pod's container (docker in
		// a pod without a cgroup namespace). The pod still holds it.
		d.note("conflict", "Kubernetes: %s show a pod although %s shows a %s container outside any pod; a container nested in a pod?", strings.Join(d.k8sStrong, ", "), d.standalone.source, d.standalone.value)
	}
	if !inK8s && len(d.k8sMedium) > 0 {
		if d.standalone != nil {
			d.note("conflict", "Kubernetes: %s (medium) outweighed by %s (strong), which shows a %s container outside any pod", strings.Join(d.k8sMedium, ", "), d.standalone.source, d.standalone.value)
		} else {
			inK8s = true
		}
	}

	// containers/storage is podman's or CRI-O's: CRI-O in a pod.
	for _, src := range d.storage {
		rt := "podman"
		if inK8s {
			rt = "cri-o"
		}
		d.runtimes = append(d.runtimes, claim{rt, medium, src})
	}

	if inK8s {
		k := &env.Kubernetes
		k.ContainerID, k.Namespace = d.containerID, d.namespace
		if c, ok := d.pick("pod UID", d.podUIDs); ok {
			k.PodUID = c.value
		}
		qos := d.qos
		if c, ok := d.oomQoS(); ok {
			qos = append(qos, c)
		}
		if c, ok := d.pick("QoS class", qos); ok {
			k.QOSClass = QOSClass(c.value)
		}
		env.HasKubernetes = true
		env.Orchestrator = OrchestratorKubernetes
		for _, o := range d.orchestra {
			if o.value == "cloud-run" {
				d.note("conflict", "orchestrator: kubernetes outweighs cloud-run from %s: Knative on Kubernetes sets it too", o.source)
			} else {
				d.note("conflict", "orchestrator: kubernetes outweighs %s from %s", o.value, o.source)
			}
		}
	} else if c, ok := d.pick("orchestrator", d.orchestra); ok {
		env.Orchestrator = Orchestrator(c.value)
	}

	if c, ok := d.pick("runtime", d.runtimes); ok {
		env.Runtime = Runtime(c.value)
	}
	env.Container = inK8s || env.Runtime != "" || len(d.generic) > 0
	if env.Container {
		env.ContainerID = d.containerID
	}
	env.Evidence = d.ev
	return env
}

// oomQoS reads /proc/self/oom_score_adj, which the kubelet sets from the
// QoS class (pkg/kubelet/qos/policy.go): -997 Guaranteed, 1000 BestEffort,
// 2..999 Burstable. Weak: the process may raise its own value, and
// node-critical pods get -997 whatever their class.
func (d *detector) oomQoS() (claim, bool) {
	const src = "/proc/self/oom_score_adj"
	n, err := d.fs.OOMScoreAdj("self")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			d.skipped("oom_score_adj", err)
		}
		return claim{}, false
	}
	var qos string
	switch {
	case n == -997:
		qos = string(QOSGuaranteed)
	case n == 1000:
		qos = string(QOSBestEffort)
	case n >= 2 && n <= 999:
		qos = string(QOSBurstable)
	default:
		d.note("oom_score_adj", "%s is %d: not a value the kubelet gives a QoS class", src, n)
		return claim{}, false
	}
	d.note("oom_score_adj", "%s is %d (weak): QoS %s", src, n, qos)
	return claim{qos, weak, src}, true
}

// pick returns the strongest claim (the first on a tie) and notes every
// claim that disagrees with it.
func (d *detector) pick(what string, claims []claim) (claim, bool) {
	if len(claims) == 0 {
		return claim{}, false
	}
	best := claims[0]
	for _, c := range claims[1:] {
		if c.strength > best.strength {
			best = c
		}
	}
	for _, c := range claims {
		if c.value != best.value {
			d.note("conflict", "%s: %s from %s (%s) outweighs %s from %s (%s)", what, best.value, best.source, best.strength, c.value, c.source, c.strength)
		}
	}
	return best, true
}

// clip shortens s for evidence: values come from files and the
// environment, and a huge one must not bloat the result.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
