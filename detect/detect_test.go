package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/procfs"
)

// fixtureTests cover testdata/<name>. want is the whole Env except the
// evidence; signals must each appear among the evidence items, and
// conflict says whether a "conflict" item must (or must not) appear.
var fixtureTests = []struct {
	name     string
	want     Env
	signals  []string
	conflict bool
}{
	// Hosts.
	{"host-bare", Env{}, []string{"cgroup", "init-environ"}, false},
	{"host-nocgroup", Env{}, []string{"cgroup", "init-environ"}, false},

	// Standalone runtimes.
	{"docker-v1", Env{Container: true, Runtime: "docker", ContainerID: tCID}, []string{"cgroup", "mountinfo", "dockerenv"}, false},
	{"docker-v2-cgroupns", Env{Container: true, Runtime: "docker"}, []string{"cgroup", "mountinfo", "dockerenv"}, false},
	{"docker-systemd", Env{Container: true, Runtime: "docker", ContainerID: tCID}, []string{"cgroup", "mountinfo", "dockerenv"}, false},
	// runc without markers: only the bind-mounted cgroup view tells.
	{"runc-v1-plain", Env{Container: true}, []string{"cgroup", "mountinfo"}, false},
	{"podman-rootless", Env{Container: true, Runtime: "podman"}, []string{"cgroup", "mountinfo", "containerenv", "init-environ"}, false},
	{"podman-crun", Env{Container: true, Runtime: "podman", ContainerID: tCID}, []string{"cgroup", "containerenv", "init-environ"}, false},
	{"lxc", Env{Container: true, Runtime: "lxc"}, []string{"init-environ", "systemd-container"}, false},
	{"lxc-v1", Env{Container: true, Runtime: "lxc"}, []string{"cgroup"}, false},
	{"systemd-nspawn", Env{Container: true, Runtime: "systemd-nspawn"}, []string{"init-environ", "systemd-container"}, false},
	{"wsl", Env{Container: true, Runtime: "wsl"}, []string{"osrelease"}, false},
	{"wsl-docker", Env{Container: true, Runtime: "docker"}, []string{"osrelease", "dockerenv", "mountinfo"}, true},
	{"containerd-nerdctl", Env{Container: true, Runtime: "containerd", ContainerID: tCID}, []string{"cgroup"}, false},

	// Kubernetes, cgroupfs driver.
	{"k8s-cgroupfs-burstable", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "shop"}),
		[]string{"cgroup", "mountinfo", "environ", "serviceaccount", "hosts", "oom_score_adj"}, false},
	{"k8s-cgroupfs-besteffort", k8sEnv("docker", Kubernetes{tUID, tCID, "BestEffort", "default"}),
		[]string{"cgroup", "mountinfo", "dockerenv"}, false},
	{"k8s-cgroupfs-guaranteed", k8sEnv("containerd", Kubernetes{tUID, tCID, "Guaranteed", "kube-system"}),
		[]string{"cgroup", "mountinfo"}, false},
	// Static pods are node-critical: -997 although Burstable. The cgroup wins.
	{"k8s-cgroupfs-static-pod", k8sEnv("", Kubernetes{tStatic, tCID, "Burstable", ""}),
		[]string{"cgroup", "mountinfo", "oom_score_adj"}, true},

	// Kubernetes, systemd driver.
	{"k8s-systemd-burstable-containerd", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "shop"}),
		[]string{"cgroup", "mountinfo"}, false},
	{"k8s-systemd-guaranteed-crio", k8sEnv("cri-o", Kubernetes{tUID, tCID, "Guaranteed", "payments"}),
		[]string{"cgroup", "mountinfo"}, false},
	{"k8s-systemd-besteffort-docker", k8sEnv("docker", Kubernetes{tUID, tCID, "BestEffort", "default"}),
		[]string{"cgroup", "mountinfo", "dockerenv"}, false},
	{"k8s-systemd-crun", k8sEnv("cri-o", Kubernetes{tUID, tCID, "Burstable", "shop"}),
		[]string{"cgroup"}, false},

	// Kubernetes behind a cgroup namespace: no container ID, QoS from
	// oom_score_adj, pod UID from mount roots.
	{"k8s-cgroupns-containerd", k8sEnv("containerd", Kubernetes{tUID, "", "Guaranteed", "shop"}),
		[]string{"cgroup", "mountinfo", "oom_score_adj", "serviceaccount", "hosts", "environ"}, false},
	{"k8s-cgroupns-kubelet-mount", k8sEnv("", Kubernetes{tUID, "", "BestEffort", ""}),
		[]string{"cgroup", "mountinfo", "oom_score_adj"}, false},
	{"k8s-cgroupns-oom-burstable", k8sEnv("", Kubernetes{tUID2, "", "Burstable", "batch"}),
		[]string{"mountinfo", "oom_score_adj", "serviceaccount"}, false},

	// Kubernetes, other shapes.
	{"k8s-hostnetwork", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "monitoring"}), []string{"hosts"}, false},
	// PID 1 is the pause container: its cgroup must not be used.
	{"k8s-shareprocessns", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "shop"}), []string{"cgroup"}, false},
	{"k8s-env-only", k8sEnv("", Kubernetes{}), []string{"environ", "cgroup"}, false},
	{"k8s-env-vs-docker", Env{Container: true, Runtime: "docker", ContainerID: tCID}, []string{"environ", "cgroup"}, true},
	{"k8s-kind", k8sEnv("containerd", Kubernetes{tUID, tCID, "BestEffort", "default"}), []string{"cgroup"}, false},
	{"k8s-kind-systemd", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "default"}), []string{"cgroup"}, false},
	{"k8s-knative", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "serving"}), []string{"environ"}, true},
	{"k8s-image-container-env", k8sEnv("containerd", Kubernetes{tUID, tCID, "Burstable", "shop"}),
		[]string{"init-environ", "dockerenv"}, true},
	{"k8s-uid-mismatch", k8sEnv("", Kubernetes{tUID, tCID, "Burstable", ""}), []string{"cgroup", "mountinfo"}, true},

	// Other orchestrators.
	{"ecs-ec2", Env{Container: true, Runtime: "docker", Orchestrator: "ecs"}, []string{"environ", "dockerenv"}, false},
	{"ecs-fargate", Env{Container: true, Orchestrator: "ecs"}, []string{"environ"}, false},
	{"cloud-run", Env{Container: true, Orchestrator: "cloud-run"}, []string{"environ"}, false},
	{"nomad-docker", Env{Container: true, Runtime: "docker", Orchestrator: "nomad", ContainerID: tCID}, []string{"environ", "cgroup"}, false},
	// Nomad's exec driver: an orchestrator, no container.
	{"nomad-exec", Env{Orchestrator: "nomad"}, []string{"environ"}, false},

	// Every file odd: each is noted and skipped, nothing panics.
	{"bad-files", Env{Container: true, Runtime: "podman", Orchestrator: "kubernetes", HasKubernetes: true},
		[]string{"cgroup", "environ", "serviceaccount", "hosts", "oom_score_adj", "init-environ", "containerenv", "systemd-container"}, false},
}

func k8sEnv(runtime Runtime, k Kubernetes) Env {
	return Env{Container: true, Runtime: runtime, Orchestrator: "kubernetes", ContainerID: k.ContainerID, HasKubernetes: true, Kubernetes: k}
}

func TestFixtures(t *testing.T) {
	seen := map[string]bool{}
	for _, tt := range fixtureTests {
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join("testdata", tt.name)
			got, conclusive := run(newConfig([]Option{WithRoot(root)}))
			if !conclusive {
				t.Errorf("inconclusive")
			}
			ev := got.Evidence
			got.Evidence = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", show(got), show(tt.want))
			}
			signals := map[Signal]bool{}
			for _, e := range ev {
				signals[e.Signal] = true
				if e.Signal == "" || e.Detail == "" {
					t.Errorf("empty evidence item %+v", e)
				}
				// Details name what they are about, as seen in the root,
				// or through an error that names the file.
				if e.Signal == "cgroup" && !strings.Contains(e.Detail, "/proc/self/cgroup") {
					t.Errorf("cgroup evidence does not name the file: %q", e.Detail)
				}
			}
			for _, s := range tt.signals {
				if !signals[Signal(s)] {
					t.Errorf("no %q evidence", s)
				}
			}
			if signals["conflict"] != tt.conflict {
				t.Errorf("conflict evidence present = %v, want %v", signals["conflict"], tt.conflict)
			}
			if t.Failed() || testing.Verbose() {
				for _, e := range ev {
					t.Logf("%-17s %s", e.Signal, e.Detail)
				}
			}
			// Detect is the same without the conclusiveness.
			if d := Detect(WithRoot(root)); !reflect.DeepEqual(d.Evidence, ev) {
				t.Errorf("Detect differs from run")
			}
		})
	}
	// Every fixture directory has a table entry.
	dirs, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && d.Name() != "fuzz" && !seen[d.Name()] {
			t.Errorf("testdata/%s has no test", d.Name())
		}
	}
}

func show(e Env) string {
	s := fmt.Sprintf("{Container:%v Runtime:%q Orchestrator:%q ContainerID:%q", e.Container, e.Runtime, e.Orchestrator, e.ContainerID)
	if e.HasKubernetes {
		s += fmt.Sprintf(" Kubernetes:%+v", e.Kubernetes)
	}
	return s + "}"
}

// With a root other than "/", nothing comes from the live process.
func TestRootIgnoresLiveEnvironment(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
	t.Setenv("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/x")
	t.Setenv("container", "lxc")
	got := Detect(WithRoot(filepath.Join("testdata", "host-bare")))
	if got.Container || got.HasKubernetes || got.Orchestrator != "" || got.Runtime != "" {
		t.Errorf("the live environment leaked into a fixture: %s", show(got))
	}
	// A root without proc/self/environ has no environment at all.
	got = Detect(WithRoot(t.TempDir()))
	if got.Container || got.HasKubernetes {
		t.Errorf("empty root: %s", show(got))
	}
}

// A captured tree whose /var/run is an absolute symlink to /run must be
// read inside the capture, not in the live /run.
func TestRootResolvesSymlinksInside(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, name string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	write("run/secrets/kubernetes.io/serviceaccount/namespace", "captured\n")
	write("data/self/environ", "KUBERNETES_SERVICE_HOST=10.0.0.1\x00")
	write("data/self/cgroup", "0::/kubepods/pod"+tUID+"/"+tCID+"\n")
	symlink("/run", "var/run")                 // absolute: must restart at the root
	symlink("../../../data/self", "proc/self") // climbs above the root: stops at it
	symlink("loop2", "etc/loop1")
	symlink("loop1", "etc/loop2")
	symlink("/etc/loop1", "etc/hosts") // a loop: unreadable, skipped

	got := Detect(WithRoot(root))
	want := k8sEnv("", Kubernetes{PodUID: tUID, ContainerID: tCID, QOSClass: "Guaranteed", Namespace: "captured"})
	ev := got.Evidence
	got.Evidence = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %s\nwant %s", show(got), show(want))
	}
	loop := false
	for _, e := range ev {
		if e.Signal == "hosts" && strings.Contains(e.Detail, syscall.ELOOP.Error()) {
			loop = true
		}
	}
	if !loop {
		t.Errorf("symlink loop not reported: %+v", ev)
	}
}

func TestTransient(t *testing.T) {
	box := func(err error) error { return &procfs.Error{Path: "/proc/1/environ", Err: err} }
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{box(fs.ErrNotExist), false},
		{box(fs.ErrPermission), false},
		{box(fmt.Errorf("open: %w", syscall.EACCES)), false},
		{box(fmt.Errorf("%w: x", procfs.ErrMalformed)), false},
		{box(procfs.ErrTooLarge), false},
		{box(fmt.Errorf("open: %w", syscall.ELOOP)), false},
		{box(fmt.Errorf("%w: it is a FIFO", procfs.ErrNotRegular)), false},
		{box(fmt.Errorf("open: %w", syscall.EMFILE)), true},
		{box(fmt.Errorf("read: %w", syscall.EINTR)), true},
		{box(errors.New("something else")), false},
	} {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// unreadableRootEnv hands TestUnreadableInitEnviron's tree to its re-run
// as nobody.
const unreadableRootEnv = "RIGHTSIZE_DETECT_UNREADABLE_ROOT"

// Permission denied on /proc/1/environ is normal for non-root: noted,
// skipped, and the process's own container= is used. Root reads the file
// whatever its mode, so as root (in CI) the test re-runs itself as nobody
// through setpriv.
func TestUnreadableInitEnviron(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not bind a reader on Windows")
	}
	root := os.Getenv(unreadableRootEnv)
	if root == "" {
		root = filepath.Join(testenv.NobodyTempDir(t), "root")
		for name, content := range map[string]string{
			"proc/self/environ": "container=lxc\x00",
			"proc/1/environ":    "container=lxc\x00",
		} {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(filepath.Join(root, "proc/1/environ"), 0); err != nil {
			t.Fatal(err)
		}
		if testenv.RunAsNobody(t, unreadableRootEnv+"="+root) {
			return
		}
	}
	if _, err := os.ReadFile(filepath.Join(root, "proc/1/environ")); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("the fixture's proc/1/environ is readable here (%v): the test cannot show anything", err)
	}
	env, conclusive := run(newConfig([]Option{WithRoot(root)}))
	if !conclusive || env.Runtime != "lxc" || !env.Container {
		t.Errorf("got %s conclusive=%v", show(env), conclusive)
	}
	found := false
	for _, e := range env.Evidence {
		if e.Signal == "init-environ" && strings.Contains(e.Detail, "unreadable") {
			found = true
		}
	}
	if !found {
		t.Errorf("unreadable /proc/1/environ not noted: %+v", env.Evidence)
	}
}

// An Env survives a JSON round trip (the rightsize command and the
// exporters define their own schemas; this only checks nothing is lost),
// also when its evidence carries errors: Evidence.Err is left out of JSON,
// and its text is in Detail.
func TestJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"k8s-systemd-burstable-containerd", "bad-files"} {
		t.Run(name, func(t *testing.T) {
			env := Detect(WithRoot(filepath.Join("testdata", name)))
			b, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			var back Env
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("%v:\n%s", err, b)
			}
			errs := 0
			want := cloneEnv(&env)
			for i, e := range want.Evidence {
				if e.Err != nil {
					errs++
					if !strings.Contains(e.Detail, e.Err.Error()) {
						t.Errorf("evidence %q does not carry its error %q", e.Detail, e.Err)
					}
					want.Evidence[i].Err = nil
				}
			}
			if name == "bad-files" && errs == 0 {
				t.Fatalf("no evidence with an error in %s: the test proves nothing", name)
			}
			if !reflect.DeepEqual(back, want) {
				t.Errorf("JSON round trip changed the value:\n%s", b)
			}
		})
	}
}

// The live system: whatever it is, detection answers without panicking,
// and says why.
func TestLive(t *testing.T) {
	env := Detect()
	if runtime.GOOS == "linux" && len(env.Evidence) == 0 {
		t.Errorf("no evidence on Linux")
	}
	t.Logf("%s", show(env))
	for _, e := range env.Evidence {
		t.Logf("%-17s %s", e.Signal, e.Detail)
	}
	if Detect(WithRoot("")).Container != env.Container || Detect(WithRoot("/")).Container != env.Container {
		t.Errorf(`WithRoot("") and WithRoot("/") are not the live system`)
	}
}

func TestNilOption(t *testing.T) {
	_ = Detect(nil, WithRoot(filepath.Join("testdata", "host-bare")))
}

// FuzzDetect runs the whole detection over odd file contents: whatever the
// files hold, it answers, stays conclusive and keeps its invariants.
func FuzzDetect(f *testing.F) {
	for _, name := range []string{"k8s-cgroupfs-burstable", "k8s-systemd-guaranteed-crio", "docker-v1", "podman-crun", "bad-files"} {
		read := func(file string) string {
			b, _ := os.ReadFile(filepath.Join("testdata", name, filepath.FromSlash(file)))
			return string(b)
		}
		f.Add(read("proc/self/cgroup"), read("proc/self/mountinfo"), read("proc/self/environ"), read("run/.containerenv"), read("proc/self/oom_score_adj"))
	}
	// One tree, rewritten for every input: a fuzz worker calls the
	// function sequentially, and a fresh directory per call would make
	// minimising an input take minutes.
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, cgroup, mountinfo, environ, containerenv, oom string) {
		for name, content := range map[string]string{
			"proc/self/cgroup":        cgroup,
			"proc/self/mountinfo":     mountinfo,
			"proc/self/environ":       environ,
			"run/.containerenv":       containerenv,
			"proc/self/oom_score_adj": oom,
			"etc/hosts":               cgroup,
			"proc/1/environ":          environ,
		} {
			p := filepath.Join(root, filepath.FromSlash(name))
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env, conclusive := run(newConfig([]Option{WithRoot(root)}))
		if !conclusive {
			t.Fatalf("inconclusive: %+v", env.Evidence)
		}
		if k := env.Kubernetes; env.HasKubernetes {
			if !env.Container || env.Orchestrator != "kubernetes" {
				t.Fatalf("Kubernetes outside a container: %s", show(env))
			}
			if k.PodUID != "" && !validPodUID(k.PodUID) {
				t.Fatalf("pod UID %q", k.PodUID)
			}
			if k.ContainerID != "" && !validContainerID(k.ContainerID) {
				t.Fatalf("container ID %q", k.ContainerID)
			}
			if k.Namespace != "" && !validNamespace(k.Namespace) {
				t.Fatalf("namespace %q", k.Namespace)
			}
			switch k.QOSClass {
			case "", "Guaranteed", "Burstable", "BestEffort":
			default:
				t.Fatalf("QoS %q", k.QOSClass)
			}
		}
		if env.Runtime != "" && runtimeName(string(env.Runtime)) != string(env.Runtime) {
			t.Fatalf("runtime %q", env.Runtime)
		}
		if _, err := json.Marshal(env); err != nil {
			t.Fatal(err)
		}
	})
}
