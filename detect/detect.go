package detect

import (
	"sync"
	"sync/atomic"

	"github.com/rightsize/rightsize/procfs"
)

// Runtime names a container runtime. Values other than the constants
// occur: a lower-case name taken from PID 1's container= variable or
// /run/systemd/container.
type Runtime string

const (
	RuntimeDocker        Runtime = "docker"
	RuntimePodman        Runtime = "podman"
	RuntimeContainerd    Runtime = "containerd"
	RuntimeCRIO          Runtime = "cri-o"
	RuntimeLXC           Runtime = "lxc"
	RuntimeSystemdNspawn Runtime = "systemd-nspawn"
	RuntimeWSL           Runtime = "wsl"
)

// Orchestrator names what runs the container.
type Orchestrator string

const (
	OrchestratorKubernetes Orchestrator = "kubernetes"
	OrchestratorECS        Orchestrator = "ecs"
	OrchestratorCloudRun   Orchestrator = "cloud-run"
	OrchestratorNomad      Orchestrator = "nomad"
)

// QOSClass is a Kubernetes pod's quality-of-service class.
type QOSClass string

const (
	QOSGuaranteed QOSClass = "Guaranteed"
	QOSBurstable  QOSClass = "Burstable"
	QOSBestEffort QOSClass = "BestEffort"
)

// Signal is the kind of source an Evidence item comes from.
type Signal string

const (
	SignalProc             Signal = "proc"              // /proc itself (not mounted: the result is not cached)
	SignalCgroup           Signal = "cgroup"            // /proc/self/cgroup
	SignalMountInfo        Signal = "mountinfo"         // /proc/self/mountinfo: roots of /etc/hosts, /etc/hostname, /etc/resolv.conf, /dev/termination-log, the service account, cgroup mounts
	SignalEnviron          Signal = "environ"           // the process environment (variables named in Detail)
	SignalServiceAccount   Signal = "serviceaccount"    // /var/run/secrets/kubernetes.io/serviceaccount and its namespace file
	SignalHosts            Signal = "hosts"             // the first line of /etc/hosts
	SignalOOMScoreAdj      Signal = "oom_score_adj"     // /proc/self/oom_score_adj
	SignalDockerEnv        Signal = "dockerenv"         // /.dockerenv
	SignalContainerEnv     Signal = "containerenv"      // /run/.containerenv
	SignalInitEnviron      Signal = "init-environ"      // container= in /proc/1/environ
	SignalSystemdContainer Signal = "systemd-container" // /run/systemd/container
	SignalOSRelease        Signal = "osrelease"         // /proc/sys/kernel/osrelease
	SignalConflict         Signal = "conflict"          // signals that disagreed, and which one won
)

// Env is what detection concluded about the process's environment, with the
// evidence behind every conclusion.
type Env struct {
	// Container is true when the process runs in a container (a WSL
	// distribution counts, as it does for systemd-detect-virt).
	Container bool
	// Runtime is the container runtime, or "" when unknown (also in a
	// container whose runtime left no trace).
	Runtime Runtime
	// Orchestrator is what runs the container, or "".
	Orchestrator Orchestrator
	// ContainerID is the runtime's hex ID of the process's container,
	// from its cgroup path (docker, podman, containerd, CRI-O; inside or
	// outside Kubernetes), or "". Behind a cgroup namespace the path names
	// no container and it stays "". Kubernetes.ContainerID is the same
	// value in a pod.
	ContainerID string
	// HasKubernetes is set in a Kubernetes pod; Kubernetes then says what
	// is known about it.
	HasKubernetes bool
	Kubernetes    Kubernetes
	// Evidence lists what was looked at and found, in the order checked,
	// including unreadable files, signals that were outweighed, and
	// conflicts between signals.
	Evidence []Evidence
}

// Kubernetes holds what is known about the pod. Any field may be "" when no
// signal gives it; nothing is guessed.
type Kubernetes struct {
	// PodUID is the pod's metadata.uid, with dashes.
	PodUID string
	// ContainerID is the runtime's hex ID of the process's container, from
	// its cgroup. Behind a cgroup namespace there is no signal for it and
	// it stays "".
	ContainerID string
	// QOSClass is the pod's QoS class, or "".
	QOSClass QOSClass
	// Namespace is the pod's namespace, from the service account mount.
	Namespace string
}

// Evidence is one observation: the kind of source (Signal) and, in Detail,
// the file or variable, what was found and how strong a signal it is.
type Evidence struct {
	Signal Signal
	Detail string
	// Err is set when the item records a file that could not be used (not
	// there is not an error: a missing file is an observation): it names
	// the file and wraps procfs.ErrMalformed, ErrTooLarge, ErrNotRegular,
	// fs.ErrPermission or the read's error. It is left out of JSON: an
	// error value does not decode back (Detail carries its text).
	Err error `json:"-"`
}

// Option configures Detect.
type Option interface {
	apply(*config)
}

type config struct {
	root string
}

// newConfig holds the defaults, in one place.
func newConfig(opts []Option) config {
	c := config{root: procfs.DefaultRoot}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

type rootOption string

func (o rootOption) apply(c *config) { c.root = string(o) }

// WithRoot makes Detect read every file below dir instead of "/" (a fixture
// tree or a captured system). With any root other than "/" nothing comes
// from the live process: the environment is read from
// <dir>/proc/self/environ, not from os.Environ; and no path, symbolic links
// included, resolves outside dir. "" means "/".
func WithRoot(dir string) Option { return rootOption(dir) }

// Detect examines the environment afresh on every call. Use Environment
// for the cached result of the live system.
func Detect(opts ...Option) Env {
	env, _ := run(newConfig(opts))
	return env
}

// Environment returns the environment of the running process (root "/").
// It is computed on the first call and cached; a result that may change on
// retry (/proc not mounted yet, a transient read error such as running out
// of file descriptors) is returned but not cached. The returned value is the
// caller's own copy.
func Environment() Env {
	return cloneEnv(cachedEnv())
}

// InKubernetes reports whether the process runs in a Kubernetes pod. It is
// Environment().HasKubernetes without the copy: after the first call of
// either it costs an atomic load.
func InKubernetes() bool {
	return cachedEnv().HasKubernetes
}

// cache keeps the first conclusive live result. A mutex rather than
// sync.Once: an inconclusive result must leave the cache empty so that the
// next call tries again.
var cache struct {
	done atomic.Bool
	mu   sync.Mutex
	env  *Env
}

// detectLive is replaced by tests of the cache.
var detectLive = func() (Env, bool) { return run(newConfig(nil)) }

func cachedEnv() *Env {
	if cache.done.Load() {
		return cache.env
	}
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if cache.done.Load() {
		return cache.env
	}
	env, conclusive := detectLive()
	if conclusive {
		cache.env = &env
		cache.done.Store(true)
	}
	return &env
}

func cloneEnv(e *Env) Env {
	c := *e
	c.Evidence = append([]Evidence(nil), e.Evidence...)
	return c
}
