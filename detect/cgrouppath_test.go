package detect

import (
	"strings"
	"testing"
)

const (
	tUID     = "6c3e1b8f-2a4d-4e5f-9b1c-7d8e9f0a1b2c"
	tUIDU    = "6c3e1b8f_2a4d_4e5f_9b1c_7d8e9f0a1b2c" // as the systemd driver writes it
	tUID2    = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	tStatic  = "5d1f8c3e2b7a49c0a1d2e3f4a5b6c7d8" // static pod: manifest hash
	tCID     = "3f9a2b1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
	tCID2    = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	tPause   = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
	tNode    = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
	tTaskDir = "4e0d2b3a5c6f47a8b9c0d1e2f3a4b5c6"
)

var cgroupPathTests = []struct {
	path string
	want CgroupPath
	ok   bool
}{
	// kubelet, cgroupfs driver (docs/cgroups.md, "Kubernetes and container runtimes").
	{"/kubepods/burstable/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", ContainerID: tCID}, true},
	{"/kubepods/besteffort/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "BestEffort", ContainerID: tCID}, true},
	{"/kubepods/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Guaranteed", ContainerID: tCID}, true},
	{"/kubepods/pod" + tUID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Guaranteed"}, true},
	{"/kubepods/burstable/pod" + tStatic + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tStatic, QOSClass: "Burstable", ContainerID: tCID}, true},
	{"/kubepods/burstable/pod" + tUID + "/crio-" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "cri-o", ContainerID: tCID}, true},
	{"/kubepods/burstable/pod" + tUID + "/crio-conmon-" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "cri-o"}, true},
	{"/kubepods/burstable/pod" + tUID + "/" + tCID + "/docker/" + tCID2, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", ContainerID: tCID}, true},
	{"/kubepods/burstable/pod" + tUID + "/not-an-id", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable"}, true},
	{"/kubepods/burstable/pod" + tUID + "/abc", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable"}, true},
	{"/kubelet/kubepods/besteffort/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "BestEffort", ContainerID: tCID}, true},
	// kind on cgroup v1: the pod nests below the node container.
	{"/docker/" + tNode + "/kubepods/besteffort/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "BestEffort", ContainerID: tCID}, true},
	// A cluster inside a pod: the innermost pod is the process's.
	{"/kubepods/pod" + tUID2 + "/" + tCID2 + "/kubepods/burstable/pod" + tUID + "/" + tCID, CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", ContainerID: tCID}, true},

	// kubelet, systemd driver (docs/cgroups.md, "Kubernetes and container runtimes").
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + tUIDU + ".slice/cri-containerd-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "containerd", ContainerID: tCID}, true},
	{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + tUIDU + ".slice/docker-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "BestEffort", Runtime: "docker", ContainerID: tCID}, true},
	{"/kubepods.slice/kubepods-pod" + tUIDU + ".slice/crio-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Guaranteed", Runtime: "cri-o", ContainerID: tCID}, true},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + tUIDU + ".slice/crio-" + tCID + ".scope/container", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "cri-o", ContainerID: tCID}, true},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + tUIDU + ".slice/crio-conmon-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "cri-o"}, true},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + tUIDU + ".slice", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable"}, true},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + tStatic + ".slice/cri-containerd-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tStatic, QOSClass: "Burstable", Runtime: "containerd", ContainerID: tCID}, true},
	// kind with the systemd driver: --cgroup-root=/kubelet prefixes the slices.
	{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/kubelet-kubepods-burstable-pod" + tUIDU + ".slice/cri-containerd-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Burstable", Runtime: "containerd", ContainerID: tCID}, true},
	{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + tUIDU + ".slice/cri-containerd-" + tCID + ".scope", CgroupPath{Kubernetes: true, PodUID: tUID, QOSClass: "Guaranteed", Runtime: "containerd", ContainerID: tCID}, true},

	// Standalone runtimes (docs/cgroups.md, "Kubernetes and container runtimes").
	{"/docker/" + tCID, CgroupPath{Runtime: "docker", ContainerID: tCID}, true},
	{"/docker/abc", CgroupPath{Runtime: "docker"}, true},
	{"/docker/" + strings.ToUpper(tCID), CgroupPath{Runtime: "docker"}, true},
	{"/docker/buildkit/" + tCID, CgroupPath{Runtime: "docker"}, true},
	{"/docker/" + tCID + "/docker/" + tCID2, CgroupPath{Runtime: "docker", ContainerID: tCID2}, true},
	{"/docker/" + tCID + "/system.slice/containerd.service", CgroupPath{Runtime: "docker", ContainerID: tCID}, true},
	{"/system.slice/docker-" + tCID + ".scope", CgroupPath{Runtime: "docker", ContainerID: tCID}, true},
	{"/machine.slice/libpod-" + tCID + ".scope/container", CgroupPath{Runtime: "podman", ContainerID: tCID}, true},
	{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + tCID + ".scope", CgroupPath{Runtime: "podman", ContainerID: tCID}, true},
	{"/libpod_parent/libpod-" + tCID, CgroupPath{Runtime: "podman", ContainerID: tCID}, true},
	{"/system.slice/cri-containerd-" + tCID + ".scope", CgroupPath{Runtime: "containerd", ContainerID: tCID}, true},
	{"/system.slice/nerdctl-" + tCID + ".scope", CgroupPath{Runtime: "containerd", ContainerID: tCID}, true},
	{"/system.slice/crio-" + tCID + ".scope", CgroupPath{Runtime: "cri-o", ContainerID: tCID}, true},
	{"/lxc/web", CgroupPath{Runtime: "lxc"}, true},
	{"/lxc.payload.web", CgroupPath{Runtime: "lxc"}, true},
	{"/lxc.payload.web/init.scope", CgroupPath{Runtime: "lxc"}, true},
	{"/lxc.payload/web", CgroupPath{Runtime: "lxc"}, true},

	// Not containers: host paths, namespace roots, conmon, odd input.
	{"/", CgroupPath{}, false},
	{"", CgroupPath{}, false},
	{"//", CgroupPath{}, false},
	{"/user.slice/user-1000.slice/session-2.scope", CgroupPath{}, false},
	{"/system.slice/docker.service", CgroupPath{}, false},
	{"/system.slice/containerd.service", CgroupPath{}, false},
	{"/system.slice/docker-foo.scope", CgroupPath{}, false},
	{"/machine.slice/libpod-conmon-" + tCID + ".scope", CgroupPath{}, false},
	{"/system.slice/crio-conmon-" + tCID + ".scope", CgroupPath{}, false},
	{"/lxc.monitor.web", CgroupPath{}, false},
	{"/lxc.payload.", CgroupPath{}, false},
	{"/init.scope", CgroupPath{}, false},
	{"/../../x", CgroupPath{}, false},
	{"/kubepods", CgroupPath{}, false},
	{"/kubepods/burstable", CgroupPath{}, false},
	{"/kubepods/burstable/pod", CgroupPath{}, false},
	{"/kubepods/burstable/podNOT-A-UID/" + tCID, CgroupPath{}, false},
	{"/kubepods/burstable/pod" + strings.ToUpper(tUID) + "/" + tCID, CgroupPath{}, false},
	{"/kubepods/guaranteed/pod" + tUID + "/" + tCID, CgroupPath{}, false},
	{"/burstable/pod" + tUID + "/" + tCID, CgroupPath{}, false},
	{"/pod" + tUID + "/" + tCID, CgroupPath{}, false},
	{"/kubepods.slice", CgroupPath{}, false},
	{"/kubepods.slice/kubepods-burstable.slice", CgroupPath{}, false},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod.slice", CgroupPath{}, false},
	{"/kubepods.slice/kubepods-burstable.slice/notkubepods-burstable-pod" + tUIDU + ".slice", CgroupPath{}, false},
	{"/kubepods.slice/kubepods-guaranteed-pod" + tUIDU + ".slice", CgroupPath{}, false},
	{"/ecs/" + tTaskDir + "/" + tCID, CgroupPath{}, false},
	{"/nomad.slice/5a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9.web.scope", CgroupPath{}, false},
}

func TestParseCgroupPath(t *testing.T) {
	for _, tt := range cgroupPathTests {
		got, ok := ParseCgroupPath(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCgroupPath(%q)\n got %+v, %v\nwant %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// checkCgroupPath holds the invariants every result keeps, whatever the
// input.
func checkCgroupPath(t *testing.T, path string, got CgroupPath, ok bool) {
	t.Helper()
	if !ok && got != (CgroupPath{}) {
		t.Fatalf("ParseCgroupPath(%q) = %+v with ok=false", path, got)
	}
	if got.Kubernetes {
		if !validPodUID(got.PodUID) || strings.Contains(got.PodUID, "_") {
			t.Fatalf("ParseCgroupPath(%q): bad pod UID %q", path, got.PodUID)
		}
		switch got.QOSClass {
		case "Guaranteed", "Burstable", "BestEffort":
		default:
			t.Fatalf("ParseCgroupPath(%q): bad QoS %q", path, got.QOSClass)
		}
	} else if got.PodUID != "" || got.QOSClass != "" {
		t.Fatalf("ParseCgroupPath(%q): pod fields outside Kubernetes: %+v", path, got)
	}
	if got.ContainerID != "" {
		if !validContainerID(got.ContainerID) || !strings.Contains(path, got.ContainerID) {
			t.Fatalf("ParseCgroupPath(%q): container ID %q", path, got.ContainerID)
		}
	}
	if ok && !got.Kubernetes && got.Runtime == "" {
		t.Fatalf("ParseCgroupPath(%q): a standalone container without a runtime: %+v", path, got)
	}
}

func FuzzParseCgroupPath(f *testing.F) {
	for _, tt := range cgroupPathTests {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got, ok := ParseCgroupPath(path)
		checkCgroupPath(t, path, got, ok)
		// Pure: the same input gives the same answer.
		if again, ok2 := ParseCgroupPath(path); again != got || ok2 != ok {
			t.Fatalf("ParseCgroupPath(%q) not deterministic", path)
		}
	})
}
