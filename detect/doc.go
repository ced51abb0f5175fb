// Package detect tells whether the process runs in a container, under which
// runtime and orchestrator, and in Kubernetes which pod, container, QoS
// class and namespace, with the evidence behind every conclusion.
//
//	env := detect.Environment() // cached
//	if env.HasKubernetes {
//		log.Printf("pod %s (%s)", env.Kubernetes.PodUID, env.Kubernetes.QOSClass)
//	}
//
// # Why not just grep /proc/1/cgroup for "kubepods"
//
// That advice fails in most clusters today. On cgroup v2 containers get a
// private cgroup namespace and /proc/self/cgroup reads "0::/". With
// shareProcessNamespace PID 1 is the pod's pause container, not this one.
// So detection combines several signals, none of which is always present,
// and reads the process's own files (/proc/self), never PID 1's cgroup.
//
// # Signals and their strength
//
// Strong (written by the kernel for this process):
//
//   - /proc/self/cgroup: kubelet pod paths of both cgroup drivers —
//     cgroupfs /kubepods[/burstable|/besteffort]/pod<uid>/<id> (Guaranteed
//     pods have no QoS level) and systemd
//     /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
//     (crio-<id>.scope for CRI-O, docker-<id>.scope for docker; crun adds a
//     /container level below) — and standalone containers: /docker/<id>,
//     docker-<id>.scope, libpod-<id>.scope, /lxc/<name>, lxc.payload.<name>.
//     This is the only source of the container ID; see [ParseCgroupPath].
//   - /proc/self/mountinfo: a /pods/<uid>/ segment in the mount root of
//     /etc/hosts, /dev/termination-log or the service account, which the
//     kubelet bind-mounts from its pod directory. Mount roots are relative
//     to their filesystem (/var/lib/kubelet/pods/<uid>/etc-hosts, or
//     /pods/<uid>/etc-hosts when /var/lib/kubelet is a mount of its own), so
//     the segment is matched, not a prefix. This survives a cgroup
//     namespace.
//
// Medium (set up by a runtime or orchestrator, but settable by hand):
//
//   - KUBERNETES_SERVICE_HOST, which the kubelet sets in every container;
//     the service account directory /var/run/secrets/kubernetes.io/serviceaccount
//     (absent when automountServiceAccountToken is false) and its namespace
//     file, the only source of the namespace; "# Kubernetes-managed hosts
//     file." heading /etc/hosts.
//   - ECS_CONTAINER_METADATA_URI_V4 (ECS), K_SERVICE, K_REVISION or
//     CLOUD_RUN_JOB (Cloud Run; Knative on Kubernetes sets them too, and
//     Kubernetes then wins), NOMAD_ALLOC_ID (Nomad, which does not imply a
//     container: its exec drivers set it too).
//   - /run/.containerenv (podman; its engine= line names the engine);
//     mount roots of /etc/hostname, /etc/hosts and /etc/resolv.conf in a
//     runtime's state directory (docker's containers/<id>/, containerd's
//     io.containerd.grpc.v1.cri/sandboxes/<id>/, containers/storage's
//     overlay-containers/<id>/userdata/ for podman or, in a pod, CRI-O);
//     container= in PID 1's environment and /run/systemd/container (the
//     systemd container interface: lxc, systemd-nspawn, podman, ...; "oci"
//     and unknown values say "a container" without naming a runtime).
//
// Weak: /.dockerenv (docker creates it, but it is not a contract), and
// /proc/self/oom_score_adj for the QoS class (-997 Guaranteed, 1000
// BestEffort, 2..999 Burstable), used only when the cgroup path does not
// give the class. A hint, weaker still: "microsoft" or "WSL" in
// /proc/sys/kernel/osrelease (WSL), which Docker Desktop's containers share.
//
// Each question (in Kubernetes? runtime? orchestrator? pod UID? QoS?) takes
// the answer of its strongest signal; a weaker one never decides alone when
// a stronger one disagrees, and the disagreement is recorded as a
// "conflict" item in [Env.Evidence]. The medium Kubernetes signals are
// overruled by a cgroup path of a container outside any pod.
//
// # Failures
//
// A file that cannot be read is noted in the evidence and skipped;
// detection never stops and never panics. Permission denied on
// /proc/1/environ is normal for non-root: the process's own container=
// variable is used instead. Behind a cgroup namespace the container ID has
// no signal at all and stays "": it is never guessed (the IDs in mount
// roots are the pod sandbox's, not the container's).
//
// # Roots
//
// [WithRoot] points [Detect] at a fixture tree or a captured system. With a
// root other than "/" nothing comes from the live process: the environment
// is read from <root>/proc/self/environ, and symbolic links in the tree
// are resolved inside it.
package detect
