package detect

import "strings"

// The mountinfo root (field 4, proc_pid_mountinfo(5)) of a bind mount is the
// source directory's path relative to the root of ITS filesystem, not an
// absolute host path. The kubelet's /etc/hosts for a pod is
// /var/lib/kubelet/pods/<uid>/etc-hosts; in mountinfo its root reads
// "/var/lib/kubelet/pods/<uid>/etc-hosts" when /var/lib/kubelet lives on the
// root filesystem, "/pods/<uid>/etc-hosts" when /var/lib/kubelet is a
// filesystem of its own, and other prefixes for a custom --root-dir. So the
// parsers below match path segments, never a fixed prefix.
//
// Bind mounts keep their root inside a private cgroup namespace: these
// signals survive where /proc/self/cgroup shows only "0::/".

// podUIDFromMountRoot finds a "/pods/<uid>/" segment in a mountinfo root and
// returns the UID. Something must follow the UID (etc-hosts, volumes/...,
// containers/...): a root that ends at the UID is not a kubelet pod file.
func podUIDFromMountRoot(root string) (string, bool) {
	const seg = "/pods/"
	for rest := root; ; {
		i := strings.Index(rest, seg)
		if i < 0 {
			return "", false
		}
		rest = rest[i+len(seg):]
		j := strings.IndexByte(rest, '/')
		if j > 0 && j+1 < len(rest) && validPodUID(rest[:j]) {
			return rest[:j], true
		}
	}
}

// Mount-root kinds that name a runtime.
const (
	mountDocker            = "docker"
	mountContainerd        = "containerd"
	mountContainersStorage = "containers-storage" // podman or CRI-O
)

// runtimeFromMountRoot recognises the directories container runtimes keep a
// container's /etc/hostname, /etc/hosts and /etc/resolv.conf in:
//
//	.../containers/<id>/{hostname,hosts,resolv.conf}       docker (/var/lib/docker)
//	.../io.containerd.grpc.v1.cri/sandboxes/<id>/...       containerd's CRI plugin
//	.../overlay-containers/<id>/userdata/...               containers/storage:
//	                                                       podman and CRI-O (vfs-,
//	                                                       btrfs-, zfs-containers
//	                                                       with other drivers)
//
// The ID in these paths is not returned: for a pod it is the sandbox's
// (the pause container's), not the process's own container.
func runtimeFromMountRoot(root string) (kind string, ok bool) {
	comps := splitPath(root)
	n := len(comps)
	for i := 0; i+1 < n; i++ {
		switch comps[i] {
		case "io.containerd.grpc.v1.cri":
			if (comps[i+1] == "sandboxes" || comps[i+1] == "containers") && i+2 < n && validContainerID(comps[i+2]) {
				return mountContainerd, true
			}
		case "overlay-containers", "vfs-containers", "btrfs-containers", "zfs-containers":
			// containers/storage names the directory after its storage
			// driver: overlay by default, vfs, btrfs or zfs where
			// configured.
			if i+2 < n && validContainerID(comps[i+1]) && comps[i+2] == "userdata" {
				return mountContainersStorage, true
			}
		}
	}
	if n >= 3 && comps[n-3] == "containers" && validContainerID(comps[n-2]) {
		switch comps[n-1] {
		case "hostname", "hosts", "resolv.conf":
			return mountDocker, true
		}
	}
	return "", false
}

// containerEnvEngine returns the engine named in /run/.containerenv, which
// podman (and buildah) write as key="value" lines:
//
//	engine="podman-4.9.3"
//	name="web"
//	id="0123..."
//
// The file is empty unless the container is privileged, so an empty result
// is normal. The engine's name is what comes before the version
// ("podman-4.9.3" -> "podman"), lower-cased; odd values give "".
func containerEnvEngine(data string) string {
	for _, line := range strings.Split(data, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "engine=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"`)
		if i := strings.IndexByte(v, '-'); i >= 0 {
			v = v[:i]
		}
		return runtimeName(v)
	}
	return ""
}

// runtimeName returns s lower-cased when it is a plausible runtime name
// (letters, digits, '-', '_', '.'; at most 32 bytes), otherwise "".
func runtimeName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return s
}

// isWSLRelease reports whether /proc/sys/kernel/osrelease names a WSL
// kernel: "4.4.0-19041-Microsoft" (WSL 1) or
// "5.15.153.1-microsoft-standard-WSL2" (WSL 2). This is the check Microsoft
// documents and systemd uses.
func isWSLRelease(s string) bool {
	return strings.Contains(strings.ToLower(s), "microsoft") || strings.Contains(s, "WSL")
}

// validNamespace reports whether s is a Kubernetes namespace name: an
// RFC 1123 label (lower-case alphanumerics and '-', starting and ending
// alphanumeric, at most 63 characters).
func validNamespace(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
