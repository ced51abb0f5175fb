package detect

import (
	"sync"
	"sync/atomic"

	"github.com/rightsize/rightsize/procfs"
)

// Env is what detection concluded about the process's environment, with the
// evidence behind every conclusion.
type Env struct {
	// Container is true when the process runs in a container (a WSL
	// distribution counts, as it does for systemd-detect-virt).
	Container bool `json:"container"`
	// Runtime is the container runtime: "docker", "podman", "containerd",
	// "cri-o", "lxc", "systemd-nspawn", "wsl", another lower-case name
	// taken from PID 1's container= variable or /run/systemd/container, or
	// "" when unknown (also in a container whose runtime left no trace).
	Runtime string `json:"runtime"`
	// Orchestrator is "kubernetes", "ecs", "cloud-run", "nomad" or "".
	Orchestrator string `json:"orchestrator"`
	// Kubernetes is non-nil in a Kubernetes pod.
	Kubernetes *Kubernetes `json:"kubernetes"`
	// Evidence lists what was looked at and found, in the order checked,
	// including unreadable files, signals that were outweighed, and
	// conflicts between signals.
	Evidence []Evidence `json:"evidence"`
}

// Kubernetes holds what is known about the pod. Any field may be "" when no
// signal gives it; nothing is guessed.
type Kubernetes struct {
	// PodUID is the pod's metadata.uid, with dashes.
	PodUID string `json:"podUID"`
	// ContainerID is the runtime's hex ID of the process's container, from
	// its cgroup. Behind a cgroup namespace there is no signal for it and
	// it stays "".
	ContainerID string `json:"containerID"`
	// QOSClass is "Guaranteed", "Burstable", "BestEffort" or "".
	QOSClass string `json:"qosClass"`
	// Namespace is the pod's namespace, from the service account mount.
	Namespace string `json:"namespace"`
}

// Evidence is one observation. Signal is a short stable name of the kind
// of source:
//
//	proc               /proc itself (not mounted: the result is not cached)
//	cgroup             /proc/self/cgroup
//	mountinfo          /proc/self/mountinfo (roots of /etc/hosts, /etc/hostname,
//	                   /etc/resolv.conf, /dev/termination-log, the service account)
//	environ            the process environment (variables named in Detail)
//	serviceaccount     /var/run/secrets/kubernetes.io/serviceaccount and its namespace file
//	hosts              the first line of /etc/hosts
//	oom_score_adj      /proc/self/oom_score_adj
//	dockerenv          /.dockerenv
//	containerenv       /run/.containerenv
//	init-environ       container= in /proc/1/environ
//	systemd-container  /run/systemd/container
//	osrelease          /proc/sys/kernel/osrelease
//	conflict           signals that disagreed, and which one won
//
// Detail names the file or variable, what was found and how strong a signal
// it is.
type Evidence struct {
	Signal string `json:"signal"`
	Detail string `json:"detail"`
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
// <dir>/proc/self/environ, not from os.Environ. "" means "/".
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
// Environment().Kubernetes != nil without the copy: after the first call of
// either it costs an atomic load.
func InKubernetes() bool {
	return cachedEnv().Kubernetes != nil
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
	if e.Kubernetes != nil {
		k := *e.Kubernetes
		c.Kubernetes = &k
	}
	c.Evidence = append([]Evidence(nil), e.Evidence...)
	return c
}
