package detect

import (
	"strings"
	"testing"
)

var mountRootTests = []struct {
	root    string
	podUID  string // "" when there is none
	runtime string // runtimeFromMountRoot's kind, "" when none
}{
	// The kubelet's files, with the prefix their filesystem leaves
	// (docs/cgroups.md, "Kubernetes and container runtimes").
	{"/var/lib/kubelet/pods/" + tUID + "/etc-hosts", tUID, ""},
	{"/pods/" + tUID + "/etc-hosts", tUID, ""},
	{"/kubelet/pods/" + tUID + "/etc-hosts", tUID, ""},
	{"/data/kubelet/pods/" + tStatic + "/containers/kube-apiserver/2d4e6f80", tStatic, ""},
	{"/var/lib/kubelet/pods/" + tUID + "/volumes/kubernetes.io~projected/kube-api-access-x7k2p", tUID, ""},
	{"/var/lib/kubelet/pods/" + tUID, "", ""},       // nothing below the UID
	{"/var/lib/kubelet/pods/" + tUID + "/", "", ""}, // nor here
	{"/var/lib/kubelet/pods//etc-hosts", "", ""},    // empty UID
	{"/var/lib/kubelet/pods/not-a-uid!/etc-hosts", "", ""},
	{"/var/lib/kubelet/pods/x/pods/" + tUID + "/etc-hosts", tUID, ""}, // the first valid segment
	{"/var/lib/kubelet/pods", "", ""},
	{"/", "", ""},
	{"", "", ""},
	// Runtime state directories.
	{"/var/lib/docker/containers/" + tCID + "/hostname", "", mountDocker},
	{"/var/lib/docker/containers/" + tCID + "/hosts", "", mountDocker},
	{"/containers/" + tCID + "/resolv.conf", "", mountDocker},
	{"/var/lib/docker/containers/" + tCID + "/config.v2.json", "", ""},
	{"/var/lib/docker/containers/abc/hostname", "", ""},
	{"/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + tPause + "/hostname", "", mountContainerd},
	{"/io.containerd.grpc.v1.cri/sandboxes/" + tPause + "/resolv.conf", "", mountContainerd},
	{"/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/short/hostname", "", ""},
	{"/containers/storage/overlay-containers/" + tCID + "/userdata/hostname", "", mountContainersStorage},
	{"/run/user/1000/containers/overlay-containers/" + tCID + "/userdata/hosts", "", mountContainersStorage},
	{"/containers/storage/overlay-containers/" + tCID + "/hostname", "", ""},
	{"/var/lib/nerdctl/1935db59/containers/default/" + tCID + "/hostname", "", ""},
	// /dev/termination-log of a container whose name looks like an ID is not
	// docker's state directory.
	{"/var/lib/kubelet/pods/" + tUID + "/containers/" + tCID + "/8c1d2e3f", tUID, ""},
}

func TestMountRoot(t *testing.T) {
	for _, tt := range mountRootTests {
		uid, ok := podUIDFromMountRoot(tt.root)
		if uid != tt.podUID || ok != (tt.podUID != "") {
			t.Errorf("podUIDFromMountRoot(%q) = %q, %v; want %q", tt.root, uid, ok, tt.podUID)
		}
		kind, ok := runtimeFromMountRoot(tt.root)
		if kind != tt.runtime || ok != (tt.runtime != "") {
			t.Errorf("runtimeFromMountRoot(%q) = %q, %v; want %q", tt.root, kind, ok, tt.runtime)
		}
	}
}

func FuzzMountRoot(f *testing.F) {
	for _, tt := range mountRootTests {
		f.Add(tt.root)
	}
	f.Fuzz(func(t *testing.T, root string) {
		if uid, ok := podUIDFromMountRoot(root); ok {
			if !validPodUID(uid) || !strings.Contains(root, "/pods/"+uid+"/") {
				t.Fatalf("podUIDFromMountRoot(%q) = %q", root, uid)
			}
		} else if uid != "" {
			t.Fatalf("podUIDFromMountRoot(%q) = %q with ok=false", root, uid)
		}
		switch kind, ok := runtimeFromMountRoot(root); kind {
		case mountDocker, mountContainerd, mountContainersStorage:
			if !ok {
				t.Fatalf("runtimeFromMountRoot(%q) = %q with ok=false", root, kind)
			}
		case "":
			if ok {
				t.Fatalf("runtimeFromMountRoot(%q): ok without a kind", root)
			}
		default:
			t.Fatalf("runtimeFromMountRoot(%q) = %q", root, kind)
		}
		// The same bytes as a .containerenv file.
		if e := containerEnvEngine(root); e != "" && runtimeName(e) != e {
			t.Fatalf("containerEnvEngine(%q) = %q", root, e)
		}
	})
}

func TestContainerEnvEngine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"engine=\"podman-4.9.3\"\nname=\"web\"\n", "podman"},
		{"name=\"web\"\nengine=\"buildah-1.33.7\"\n", "buildah"},
		{"engine=\"Podman-5.0.0\"", "podman"},
		{"engine=podman", "podman"},
		{"", ""},
		{"name=\"web\"\n", ""},
		{"engine=\"\"", ""},
		{"engine=\"\x01\x02 weird\"", ""},
		{"engine=\"" + strings.Repeat("x", 100) + "-1\"", ""},
	} {
		if got := containerEnvEngine(tt.in); got != tt.want {
			t.Errorf("containerEnvEngine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSmallParsers(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"5.15.153.1-microsoft-standard-WSL2", true},
		{"4.4.0-19041-Microsoft", true},
		{"6.6.87.2-WSL2-custom", true},
		{"6.1.0-18-amd64", false},
		{"", false},
	} {
		if got := isWSLRelease(tt.s); got != tt.want {
			t.Errorf("isWSLRelease(%q) = %v", tt.s, got)
		}
	}
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{"default", true},
		{"kube-system", true},
		{"a", true},
		{"team-42", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"Default", false},
		{"a_b", false},
		{"a.b", false},
	} {
		if got := validNamespace(tt.s); got != tt.want {
			t.Errorf("validNamespace(%q) = %v", tt.s, got)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"lxc", "lxc"},
		{"systemd-nspawn", "systemd-nspawn"},
		{"Docker\n", "docker"},
		{"lxc-libvirt", "lxc-libvirt"},
		{"a b", ""},
		{"", ""},
		{strings.Repeat("x", 33), ""},
	} {
		if got := runtimeName(tt.in); got != tt.want {
			t.Errorf("runtimeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
