package detect

import "strings"

// CgroupPath is what one cgroup path (the third field of a
// /proc/<pid>/cgroup line) says about the container that holds the process.
type CgroupPath struct {
	// Kubernetes is true when the path runs through a kubelet pod cgroup.
	Kubernetes bool
	// PodUID is the pod's UID with dashes ("" outside Kubernetes). The
	// systemd driver writes it with underscores; they are turned back.
	PodUID string
	// QOSClass is "Guaranteed", "Burstable" or "BestEffort" for a pod path
	// (the kubelet puts Guaranteed pods directly under kubepods, without a
	// QoS level), "" otherwise.
	QOSClass QOSClass
	// Runtime is the lower-case runtime the leaf names: "containerd",
	// "cri-o", "docker", "podman", "lxc", or "" when the leaf does not say
	// (the cgroupfs driver's bare ID is used by containerd and docker alike).
	Runtime Runtime
	// ContainerID is the hex ID in the container's cgroup name, or "" when
	// the path holds none. It is never derived from anything else.
	ContainerID string
}

// ParseCgroupPath interprets a cgroup path such as
//
//	/kubepods/burstable/pod<uid>/<id>                              (kubelet, cgroupfs driver)
//	/kubepods.slice/kubepods-besteffort.slice/
//	    kubepods-besteffort-pod<uid_with_underscores>.slice/
//	    cri-containerd-<id>.scope                                  (kubelet, systemd driver)
//	/docker/<id>, /system.slice/docker-<id>.scope                  (docker)
//	/machine.slice/libpod-<id>.scope/container                     (podman with crun)
//
// and reports ok=false when it names neither a pod nor a container (a host
// path such as /user.slice/..., the namespace root "/", or anything odd).
//
// The kubepods hierarchy is found anywhere in the path, not only at its
// start: kind nests it below the node container (/docker/<node>/kubepods/...)
// and --cgroup-root renames the systemd slices (kubelet-kubepods-...slice).
// When several pods or containers appear, the innermost one is the
// process's own. Container IDs are lower-case hex of 12 to 128 digits (the
// runtimes listed use 64); a leaf that is not one leaves ContainerID empty.
// The function is pure and never panics.
func ParseCgroupPath(path string) (CgroupPath, bool) {
	comps := splitPath(path)

	// Kubernetes: the last pod level wins (nested clusters).
	pod := -1
	var res CgroupPath
	for i := range comps {
		if uid, qos, ok := podComponent(comps, i); ok {
			pod = i
			res = CgroupPath{Kubernetes: true, PodUID: uid, QOSClass: qos}
		}
	}
	if pod >= 0 {
		if pod+1 < len(comps) {
			// The container's cgroup sits directly below the pod's. Levels
			// further down ("container" that crun adds below the scope, or a
			// tree made by systemd inside the container) do not change it.
			res.Runtime, res.ContainerID, _ = parseLeaf(comps[pod+1], true)
		}
		return res, true
	}

	// Standalone runtimes: the innermost container level wins (docker in
	// docker nests /docker/<outer>/docker/<inner>).
	for i := len(comps) - 1; i >= 0; i-- {
		c := comps[i]
		// A conmon scope (no ID returned) holds conmon, a host process.
		if rt, id, ok := parseLeaf(c, false); ok && (id != "" || rt == "lxc") {
			return CgroupPath{Runtime: rt, ContainerID: id}, true
		}
		if i == 0 {
			break
		}
		switch parent := comps[i-1]; {
		case parent == "docker":
			// docker's cgroupfs driver: cgroup-parent /docker, then the ID
			// (or buildkit/<id> for build steps).
			id := ""
			if validContainerID(c) {
				id = c
			}
			return CgroupPath{Runtime: "docker", ContainerID: id}, true
		case parent == "lxc" || parent == "lxc.payload":
			// LXC names containers, it has no hex IDs: /lxc/<name>
			// (LXC 1-3) or /lxc.payload/<name>.
			return CgroupPath{Runtime: "lxc"}, true
		}
	}
	return CgroupPath{}, false
}

// splitPath returns the non-empty components of a slash-separated path.
func splitPath(p string) []string {
	var out []string
	for p != "" {
		var c string
		if i := strings.IndexByte(p, '/'); i >= 0 {
			c, p = p[:i], p[i+1:]
		} else {
			c, p = p, ""
		}
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// podComponent reports whether comps[i] is a kubelet pod cgroup and returns
// the pod UID (with dashes) and QoS class.
//
// cgroupfs driver (pkg/kubelet/cm/cgroup_manager_linux.go): the pod level is
// "pod<uid>" below "kubepods" (Guaranteed) or below
// "kubepods/{burstable,besteffort}".
//
// systemd driver: every level is a slice whose name repeats its ancestors
// joined by "-" ("kubepods-burstable-pod<uid>.slice"), and "-" inside the
// UID is escaped as "_". The prefix before "kubepods" is the --cgroup-root
// (kind: "kubelet-kubepods-...").
func podComponent(comps []string, i int) (uid string, qos QOSClass, ok bool) {
	c := comps[i]
	if strings.HasPrefix(c, "pod") && i > 0 {
		parent := comps[i-1]
		switch {
		case parent == "kubepods":
			qos = QOSGuaranteed
		case (parent == "burstable" || parent == "besteffort") && i > 1 && comps[i-2] == "kubepods":
			qos = QOSBurstable
			if parent == "besteffort" {
				qos = QOSBestEffort
			}
		default:
			return "", "", false
		}
		uid = c[len("pod"):]
		if !validPodUID(uid) {
			return "", "", false
		}
		return uid, qos, true
	}

	name, isSlice := strings.CutSuffix(c, ".slice")
	if !isSlice {
		return "", "", false
	}
	k := strings.LastIndex(name, "-pod")
	if k < 0 {
		return "", "", false
	}
	head, rawUID := name[:k], name[k+len("-pod"):]
	switch {
	case isSliceName(head, "kubepods"):
		qos = QOSGuaranteed
	case isSliceName(head, "kubepods-burstable"):
		qos = QOSBurstable
	case isSliceName(head, "kubepods-besteffort"):
		qos = QOSBestEffort
	default:
		return "", "", false
	}
	uid = strings.ReplaceAll(rawUID, "_", "-")
	if !validPodUID(uid) {
		return "", "", false
	}
	return uid, qos, true
}

// isSliceName reports whether a systemd slice name (without ".slice") is
// want or ends in "-"+want (a --cgroup-root prefix).
func isSliceName(name, want string) bool {
	return name == want || strings.HasSuffix(name, "-"+want)
}

// parseLeaf interprets one cgroup name as a container's own cgroup:
//
//	cri-containerd-<id>.scope  containerd (CRI, systemd driver)
//	crio-<id>[.scope]          CRI-O (systemd and cgroupfs)
//	crio-conmon-<id>[.scope]   CRI-O's conmon: the runtime, but no container
//	docker-<id>.scope          docker (systemd driver, also in kubepods)
//	libpod-<id>[.scope]        podman (systemd; /libpod_parent/libpod-<id> with cgroupfs)
//	libpod-conmon-<id>[.scope] podman's conmon
//	nerdctl-<id>.scope         nerdctl (containerd)
//	lxc.payload.<name>         LXC 4+
//	<id>                       only when bare is true: the cgroupfs driver's
//	                           leaf below a pod (containerd or docker)
//
// The ID must be a valid container ID, otherwise the name is not matched
// (a unit called "docker-foo.scope" is not a container).
func parseLeaf(c string, bare bool) (runtime Runtime, id string, ok bool) {
	if name, ok := strings.CutPrefix(c, "lxc.payload."); ok && name != "" {
		return "lxc", "", true
	}
	name, _ := strings.CutSuffix(c, ".scope")
	for _, p := range leafPrefixes {
		rest, found := strings.CutPrefix(name, p.prefix)
		if !found || !validContainerID(rest) {
			continue
		}
		if p.conmon {
			return p.runtime, "", true
		}
		return p.runtime, rest, true
	}
	if bare && validContainerID(c) {
		return "", c, true
	}
	return "", "", false
}

// leafPrefixes: the conmon prefixes come before their runtime's own prefix,
// which they extend.
var leafPrefixes = []struct {
	prefix  string
	runtime Runtime
	conmon  bool
}{
	{"cri-containerd-", "containerd", false},
	{"crio-conmon-", "cri-o", true},
	{"crio-", "cri-o", false},
	{"docker-", "docker", false},
	{"libpod-conmon-", "podman", true},
	{"libpod-", "podman", false},
	{"nerdctl-", "containerd", false},
}

// validContainerID reports whether s looks like a container ID: lower-case
// hex, 12 to 128 digits. docker, containerd, CRI-O and podman all use 64.
func validContainerID(s string) bool {
	if len(s) < 12 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// validPodUID reports whether s looks like a pod UID: a lower-case UUID
// (36 characters, from the API server) or the 32 hex digits the kubelet
// gives static pods; any lower-case hex with dashes of 8 to 64 characters
// and at least one hex digit is accepted.
func validPodUID(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			digits++
		case c == '-':
		default:
			return false
		}
	}
	return digits > 0
}
